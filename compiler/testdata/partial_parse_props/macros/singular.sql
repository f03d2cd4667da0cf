{# Called by a singular test: a change to this file compiles everything. #}
{% macro none_below(relation, column) %}select * from {{ relation }} where {{ column }} < 0{% endmacro %}
