select * from {{ ref('eph_x') }}
