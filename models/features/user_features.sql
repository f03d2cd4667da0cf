-- Daily feature snapshots: one row per user and calendar day, from the user's
-- first active day to the last day of data, with trailing 7- and 30-day
-- activity. A row describes the day as it closes: feature_ts is the midnight
-- after feature_date, the first instant all of the day's events are known.
with daily as (
    select * from {{ ref('fct_user_daily') }}
),

spine as (
    -- every calendar day of every user, so quiet days get a row too
    select users.user_id, cast(days.day as date) as feature_date
    from (select user_id, min(activity_date) as first_date from daily group by all) as users,
        (select max(activity_date) as last_date from daily) as bounds,
        generate_series(
            cast(users.first_date as timestamp), cast(bounds.last_date as timestamp), interval 1 day
        ) as days(day)
),

filled as (
    select
        spine.user_id,
        spine.feature_date,
        coalesce(daily.purchases, 0) as purchases,
        coalesce(daily.spend_eur, 0) as spend_eur,
        coalesce(daily.logins, 0) as logins
    from spine
    left join daily
        on daily.user_id = spine.user_id and daily.activity_date = spine.feature_date
)

select
    user_id,
    feature_date,
    cast(feature_date as timestamp) + interval 1 day as feature_ts,
    cast(sum(spend_eur) {{ days_window(7) }} as decimal(12, 2)) as spend_7d,
    cast(sum(spend_eur) {{ days_window(30) }} as decimal(12, 2)) as spend_30d,
    cast(sum(purchases) {{ days_window(30) }} as integer) as purchases_30d,
    cast(sum(logins) {{ days_window(7) }} as integer) as logins_7d,
    cast(sum(logins) {{ days_window(30) }} as integer) as logins_30d,
    cast(feature_date - max(case when logins > 0 then feature_date end) over (
        partition by user_id
        order by feature_date
        rows between unbounded preceding and current row
    ) as integer) as days_since_last_login
from filled
