-- One row per login: the raw feed typed, and each event_id kept once, as its
-- latest ingest.
with typed as (
    select
        cast(event_id as varchar) as event_id,
        cast(user_id as integer) as user_id,
        cast(event_ts as timestamp) as event_ts,
        cast(device as varchar) as device,
        cast(ingest_ts as timestamp) as ingest_ts,
        cast("date" as date) as ingest_date
    from {{ source('raw', 'logins') }}
)

{{ dedup_latest('typed', 'event_id', 'ingest_ts desc, device') }}
