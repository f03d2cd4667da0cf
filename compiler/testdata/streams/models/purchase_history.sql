select user_id, count(*) as purchases from {{ source('live', 'purchases') }} group by all
