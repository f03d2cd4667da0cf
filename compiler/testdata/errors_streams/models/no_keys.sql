{{ config(materialized='stream', watermark='10 minutes') }}
select user_id, count(*) from {{ source('live', 'purchases') }} group by all
