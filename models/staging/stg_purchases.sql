-- One row per purchase: the raw feed typed, and each event_id kept once, as
-- its latest ingest (a re-ingested event may carry a corrected amount).
with typed as (
    select
        cast(event_id as varchar) as event_id,
        cast(user_id as integer) as user_id,
        cast(event_ts as timestamp) as event_ts,
        cast(amount as decimal(10, 2)) as amount,
        cast(country as varchar) as country_code,
        cast(ingest_ts as timestamp) as ingest_ts,
        cast("date" as date) as ingest_date
    from {{ source('raw', 'purchases') }}
)

{{ dedup_latest('typed', 'event_id', 'ingest_ts desc, amount desc') }}
