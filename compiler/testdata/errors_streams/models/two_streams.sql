{{ config(materialized='stream') }}
select user_id from {{ source('live', 'purchases') }}
union all
select user_id from {{ source('live', 'clicks') }}
