select
  {{ cents_to_dollars('amount_cents') }} as amount,
  {{ money('amount_cents') }} as amount_exact,
  '{{ schema_of(ref('base')) }}' as origin,
  {{ list_cols('id', 'amount_cents', alias='x') }}
{%- set n = 3 %}
{%- for i in range(n) %}, {{ i }} as c{{ i }}{% endfor %}
from {{ ref('base') }}
