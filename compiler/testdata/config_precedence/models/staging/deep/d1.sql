{{ config(materialized='incremental', incremental_strategy='merge', unique_key='id', tags=['file'], meta={'tier': 1}) }}
select 1 as id
