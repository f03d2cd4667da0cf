with recursive t(n) as (select 1 union all select n + 1 from t where n < (select count(*) from {{ ref('eph_b') }}))
select * from t
