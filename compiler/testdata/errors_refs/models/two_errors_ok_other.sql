select * from {{ ref('stg_payments') }}
