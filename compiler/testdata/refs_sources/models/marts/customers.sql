-- customers with their events
select c.*, e.note, s.label
from {{ source('erp', 'customers') }} c
join {{ ref('stg_events') }} e on e.id = c.id
join {{ ref('country_codes') }} s on s.code = c.country
where c.supplier in (select id from {{ source('erp', 'suppliers') }})
  and {{ this }} is not null -- {{ this.schema }}.{{ this.name }}
