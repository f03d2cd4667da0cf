{# A case for partial parsing of macro files (TestPatchMacrosEqualsCompile). #}
{% macro cents(x) %}({{ x }} * 100){% endmacro %}

{% test positive(model, column_name) %}
select * from {{ model }} where {{ column_name }} <= 0
{% endtest %}
