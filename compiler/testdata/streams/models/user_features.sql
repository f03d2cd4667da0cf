{{ config(materialized='table') }}
select user_id, max(purchases_10m) as peak_10m from {{ ref('purchases_10m') }} group by all
