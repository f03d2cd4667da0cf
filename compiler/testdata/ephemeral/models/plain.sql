-- plain consumer
select * from {{ ref('eph_b') }} join {{ ref('eph_a') }} using (id)
