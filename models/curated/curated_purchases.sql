-- The classic "daily CSV → validated Parquet" job: the typed, deduplicated
-- purchases written as Parquet under data/curated/purchases, one file per
-- event day (date=YYYY-MM-DD/data_0.parquet). A rerun writes the same
-- bytes over the same files; ref('curated_purchases') reads them back.
{{ config(materialized='external', location='data/curated/purchases', format='parquet', partition_by='date') }}
select cast(event_ts as date) as "date", event_id, user_id, event_ts, amount, country_code
from {{ ref('stg_purchases') }}
