{{ config(materialized='stream', event_time='window_start', unique_key=['user_id', 'window_start'], watermark='20 minutes') }}
select user_id, time_bucket(interval 10 minute, event_ts) as window_start,
       count(*) as purchases_10m, sum(amount) as amount_10m
from {{ source('live', 'purchases') }}
group by all
