-- a lone } closes the expression on line 3
select *
from {{ ref('bad_kind') }
