{#-
  dedup_latest(relation, key, order_by) renders a query over `relation` (a
  relation or CTE name) that keeps one row per `key`: the first by `order_by`.
  Put the newest-first column first and end `order_by` with a tie-break that
  tells rows apart, so the row kept never depends on scan order.
-#}
{% macro dedup_latest(relation, key, order_by) -%}
select *
from {{ relation }}
qualify row_number() over (partition by {{ key }} order by {{ order_by }}) = 1
{%- endmacro %}
