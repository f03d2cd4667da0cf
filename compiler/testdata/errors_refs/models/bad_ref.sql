-- line 1
select *
from {{ ref('stg_paymnts') }}
