{{ config(materialized='ephemeral') }}
with x as (select * from {{ ref('eph_a') }})
select * from x
