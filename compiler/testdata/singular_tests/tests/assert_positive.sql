select * from {{ ref('payments') }} where amount < 0
