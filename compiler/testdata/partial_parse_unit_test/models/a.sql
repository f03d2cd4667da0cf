{{ config(enabled=false, alias='a_old') }}
select 1 as x
