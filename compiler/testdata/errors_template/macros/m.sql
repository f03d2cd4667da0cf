{% macro outer_macro(x) -%}
  {{ inner_macro(x) }}
{%- endmacro %}

{% macro inner_macro(x) -%}
  {{ x }} +
  {{ undefined_thing }}
{%- endmacro %}
