{% macro cents_to_dollars(column, scale=2) -%}
round({{ column }} / 100.0, {{ scale }})
{%- endmacro %}

{% macro money(column) -%}
{{ cents_to_dollars(column, scale=4) }}::decimal(18, 4)
{%- endmacro %}
