select * from {{ ref('self_ref') }}
