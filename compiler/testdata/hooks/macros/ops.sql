{% macro grant_select(role, dry_run=false) -%}
  {%- set rels = run_query("select name from relations") -%}
  {%- if dry_run -%}
    {{ return(rels.rows | length) }}
  {%- endif -%}
  {%- for row in rels -%}
    grant select on {{ row['name'] }} to {{ role }}{% if not loop.last %};
{% endif %}
  {%- endfor -%}
{%- endmacro %}

{% macro broken() -%}
  select {{ nope }}
{%- endmacro %}
