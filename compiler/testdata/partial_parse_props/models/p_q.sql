select 1 as r from {{ ref('p') }}
