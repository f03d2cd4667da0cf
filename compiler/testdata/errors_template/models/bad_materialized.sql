{{ config(materialized='tabel') }}
select 1
