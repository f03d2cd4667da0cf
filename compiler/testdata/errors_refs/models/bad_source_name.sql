{% set x = 1 %}
{% if x %}
  select * from {{ source('rwa', 'events') }}
{% endif %}
