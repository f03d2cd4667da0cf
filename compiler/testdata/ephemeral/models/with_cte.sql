/* leading
   comment */
WITH recent as (select * from {{ ref('eph_a') }})
select * from recent
