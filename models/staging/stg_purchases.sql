-- One row per purchase: the raw feed typed, and each event_id kept once, as
-- its latest ingest (a re-ingested event may carry a corrected amount).
--
-- Incremental by ingest day: a run reads only the partitions from the last
-- ingest day it saw (the `date=` directories, pruned by DuckDB) and merges
-- them on event_id, a newer ingest_ts winning; the first run (and
-- --full-refresh) reads everything, reduced to the newest row per event_id.
{{ config(materialized='incremental', incremental_strategy='merge', unique_key='event_id',
          updated_at='ingest_ts', event_time='event_ts') }}
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
{%- if is_incremental() %}
    {%- set last = run_query('select cast(max(ingest_date) as varchar) from ' ~ this).rows[0][0] %}
    where "date" >= date '{{ last }}'
{%- endif %}
)

{{ dedup_latest('typed', 'event_id', 'ingest_ts desc, amount desc') }}
