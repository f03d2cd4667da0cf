{{ config(materialized='stream', incremental_strategy='merge', unique_key='user_id') }}
select user_id from {{ source('live', 'purchases') }}
