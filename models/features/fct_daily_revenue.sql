-- Revenue per calendar day (by event time) and country, built as a
-- microbatch: one batch per month from 2025-01-01, each reading only its month
-- of stg_purchases (which declares event_time), each committed with its
-- row in the interval ledger. `elt backfill -s fct_daily_revenue --start …
-- --end …` rebuilds a range of days.
{{ config(materialized='incremental', incremental_strategy='microbatch', event_time='activity_date',
          batch_size='month', begin='2025-01-01') }}
select
    cast(p.event_ts as date) as activity_date,
    p.country_code,
    cast(count(*) as integer) as purchases,
    cast(sum(p.amount * c.eur_rate) as decimal(12, 2)) as revenue_eur
from {{ ref('stg_purchases') }} as p
left join {{ ref('countries') }} as c on c.country_code = p.country_code
group by all
