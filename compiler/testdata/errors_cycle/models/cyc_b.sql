select * from {{ ref('cyc_a') }}
