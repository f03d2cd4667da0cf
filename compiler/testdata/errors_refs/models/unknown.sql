select * from {{ ref('nothing_like_it') }}
