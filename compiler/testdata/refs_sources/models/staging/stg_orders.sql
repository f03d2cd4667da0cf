select * from {{ source('raw', 'orders') }}
union all
select * from {{ source('raw', 'logs') }}
