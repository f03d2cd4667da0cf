{{ config(materialized='ephemeral') }}

-- The label timestamps: midnight every label_every_days days after the first
-- day of login data, keeping only those followed by churn_window_days days of
-- data, so every label can be decided.
with bounds as (
    select
        cast(min(cast(event_ts as date)) as timestamp) as first_ts,
        cast(max(cast(event_ts as date)) as timestamp) + interval 1 day as end_ts
    from {{ ref('stg_logins') }}
)

select days.label_ts
from bounds,
    generate_series(
        first_ts + to_days({{ var('label_every_days') }}),
        end_ts - to_days({{ var('churn_window_days') }}),
        to_days({{ var('label_every_days') }})
    ) as days(label_ts)
