{# A macro of its own: not a macro file it calls. #}
{% macro twice(x) %}({{ x }} * 2){% endmacro %}
select {{ twice(21) }} as answer
