select * from {{ ref('cyc_b') }}
