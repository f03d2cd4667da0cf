select * from {{ ref('disabled') }}
