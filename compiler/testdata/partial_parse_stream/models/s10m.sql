select user_id, time_bucket(interval 10 minute, event_ts) as window_start, count(*) as purchases
from {{ source('live', 'purchases') }}
group by all
