{{ config(materialized='stream', event_time='window_start', unique_key='user_id', watermark='10 minutes') }}
select user_id, time_bucket(interval 5 minute, event_ts) as window_start, count(*) as n
from {{ source('live', 'purchases') }}
group by all
