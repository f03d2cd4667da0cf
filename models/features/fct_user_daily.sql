-- One row per user and calendar day with any activity (by event time, so a
-- late-arriving event counts on the day it happened). Spend is converted to
-- euros with the rates of the countries seed.
with purchases as (
    select
        p.user_id,
        cast(p.event_ts as date) as activity_date,
        cast(count(*) as integer) as purchases,
        cast(sum(p.amount * c.eur_rate) as decimal(12, 2)) as spend_eur
    from {{ ref('stg_purchases') }} as p
    left join {{ ref('countries') }} as c on c.country_code = p.country_code
    group by all
),

logins as (
    select
        user_id,
        cast(event_ts as date) as activity_date,
        cast(count(*) as integer) as logins
    from {{ ref('stg_logins') }}
    group by all
)

select
    user_id,
    activity_date,
    coalesce(purchases.purchases, 0) as purchases,
    coalesce(purchases.spend_eur, 0) as spend_eur,
    coalesce(logins.logins, 0) as logins
from purchases
full outer join logins using (user_id, activity_date)
