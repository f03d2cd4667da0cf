-- One row per label time and active user (a login in the churn window before
-- label_ts): churned when the user does not log in during the churn window
-- that starts at label_ts. One pass over the logins of both windows.
select
    logins.user_id,
    label_dates.label_ts,
    max(logins.event_ts) filter (where logins.event_ts < label_dates.label_ts) as last_login_ts,
    count(*) filter (where logins.event_ts >= label_dates.label_ts) = 0 as churned
from {{ ref('label_dates') }} as label_dates
join {{ ref('stg_logins') }} as logins
    on logins.event_ts >= label_dates.label_ts - to_days({{ var('churn_window_days') }})
    and logins.event_ts < label_dates.label_ts + to_days({{ var('churn_window_days') }})
group by all
having count(*) filter (where logins.event_ts < label_dates.label_ts) > 0
