{{ config(materialized='incremental', unique_key='id', full_refresh=false) }}
select * from {{ ref('src') }}
{% if is_incremental() %}
where ts > (select max(ts) from {{ this }})
{% endif %}
