{{ config(materialized='stream') }}
select * from {{ source('live', 'clicks') }} where ts is not null
