{{ config(enabled=checks_on()) }}
select * from {{ ref('a') }} where id < 0
