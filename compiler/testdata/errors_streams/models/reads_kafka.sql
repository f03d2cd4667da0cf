select * from {{ source('live', 'clicks') }}
