select * from {{ ref('revenue') }} where amount < 0
