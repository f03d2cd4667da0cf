select id, note
from {{ source('raw', 'events') }}
