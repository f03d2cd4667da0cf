{% macro schema_of(rel) -%}
{{ return(rel.schema ~ '/' ~ rel.name) }}
{%- endmacro %}

{% macro list_cols(*cols, **opts) -%}
{{ cols | join(', ') }}{% if opts.alias %} as {{ opts.alias }}{% endif %}
{%- endmacro %}

{% test positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} < 0
{% endtest %}
