{{ config(enabled=false) }}
select 1
