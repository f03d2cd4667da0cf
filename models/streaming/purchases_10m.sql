-- Purchases per user in 10-minute windows, kept fresh by `elt stream`.
--
-- A stream model: each micro-batch reads the purchase files that landed
-- since the last one, recomputes the windows their events fall in from the
-- retained events of open windows, and upserts them by (user_id,
-- window_start). Windows that ended more than 20 minutes before the newest
-- event are final; an event arriving later for one goes to
-- purchases_10m__quarantine with elt_reason = 'late'.
{{ config(materialized='stream', event_time='window_start', unique_key=['user_id', 'window_start'],
          watermark='20 minutes') }}
select
    user_id,
    time_bucket(interval 10 minute, event_ts) as window_start,
    count(*) as purchases_10m,
    sum(amount) as amount_10m,
    count(distinct event_id) as distinct_events_10m
from {{ source('live', 'purchases') }}
group by all
