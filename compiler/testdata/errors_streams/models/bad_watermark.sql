{{ config(materialized='stream', watermark='soon') }}
select user_id from {{ source('live', 'purchases') }}
