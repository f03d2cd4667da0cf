{{ config(materialized='ephemeral') }}
{{ config(materialized='view', enabled=true) }}
select * from {{ ref('s1') }}
