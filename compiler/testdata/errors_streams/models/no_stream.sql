{{ config(materialized='stream') }}
select 1 as x
