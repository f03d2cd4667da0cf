select 1 as x
{{ config(materialised='table') }}
