{{ config(materialized='incremental', unique_key='id') }}
select * from {{ ref('src') }}
{% if is_incremental() %}
where ts > (select max(ts) from {{ this }})
{% endif %}
