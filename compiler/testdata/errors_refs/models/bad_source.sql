select *

from {{ source('raw', 'evnts') }}
