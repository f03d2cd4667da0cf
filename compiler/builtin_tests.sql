{#-
  The generic data tests elt ships (SPEC §6). Each renders a query that
  returns the failing rows: a test passes when it returns none. A user's
  {% test name(...) %} in macros/ of the same name replaces the built-in one.
-#}
{% test not_null(model, column_name) -%}
select * from {{ model }} where {{ column_name }} is null
{%- endtest %}

{% test unique(model, column_name) -%}
select {{ column_name }} as unique_field, count(*) as n_records
from {{ model }}
where {{ column_name }} is not null
group by {{ column_name }}
having count(*) > 1
{%- endtest %}

{% test accepted_values(model, column_name, values, quote=true) -%}
select * from {{ model }}
where {{ column_name }} is not null and {{ column_name }} not in (
{%- for v in values %}{% if quote %}'{{ (v ~ '') | replace("'", "''") }}'{% else %}{{ v }}{% endif %}{% if not loop.last %}, {% endif %}{% endfor -%}
)
{%- endtest %}

{% test relationships(model, column_name, to, field) -%}
select child.* from {{ model }} as child
left join {{ to }} as parent on child.{{ column_name }} = parent.{{ field }}
where child.{{ column_name }} is not null and parent.{{ field }} is null
{%- endtest %}

{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) -%}
select * from {{ model }}
where not (true
{%- if min_value is not none %} and {{ column_name }} >{% if inclusive %}={% endif %} {{ min_value }}{% endif %}
{%- if max_value is not none %} and {{ column_name }} <{% if inclusive %}={% endif %} {{ max_value }}{% endif -%}
)
{%- endtest %}

{% test expression_is_true(model, expression, column_name=none) -%}
select * from {{ model }}
where not ({% if column_name is not none %}{{ column_name }} {% endif %}{{ expression }})
{%- endtest %}

{% test unique_combination_of_columns(model, combination_of_columns) -%}
select {{ combination_of_columns | join(', ') }}, count(*) as n_records
from {{ model }}
group by {{ combination_of_columns | join(', ') }}
having count(*) > 1
{%- endtest %}

{% test row_count(model, min=none, max=none, column_name=none) -%}
select n_records from (select count(*) as n_records from {{ model }})
where false
{%- if min is not none %} or n_records < {{ min }}{% endif %}
{%- if max is not none %} or n_records > {{ max }}{% endif %}
{%- endtest %}

{% test not_empty(model, column_name=none) -%}
select 'no rows' as problem where not exists (select 1 from {{ model }})
{%- endtest %}

{% test recency(model, field, max_age, column_name=none) -%}
select max({{ field }}) as most_recent, (now() at time zone 'UTC') - interval '{{ max_age }}' as threshold
from {{ model }}
having max({{ field }}) is null or cast(max({{ field }}) as timestamp) < (now() at time zone 'UTC') - interval '{{ max_age }}'
{%- endtest %}

{% test point_in_time(model, feature_time, label_time, column_name=none) -%}
select * from {{ model }} where {{ feature_time }} > {{ label_time }}
{%- endtest %}

{% test drift(model, metric, max_change, column=none, column_name=none, elt_node_id='') -%}
{%- set col = column if column is not none else column_name -%}
{%- if metric == 'row_count' %}{% set expr = 'count(*)' %}
{%- elif metric == 'null_rate' %}{% set expr = 'coalesce(avg(case when ' ~ col ~ ' is null then 1.0 else 0.0 end), 0)' %}
{%- elif metric == 'mean' %}{% set expr = 'avg(' ~ col ~ ')' %}
{%- elif metric == 'distinct_count' %}{% set expr = 'approx_count_distinct(' ~ col ~ ')' %}
{%- else %}{{ exceptions.raise_compiler_error("drift metric must be row_count, null_rate, mean or distinct_count, got " ~ metric) }}{% endif %}
{%- set prev_col = {'row_count': 'row_count', 'null_rate': 'null_rate', 'mean': 'mean', 'distinct_count': 'distinct_count'}[metric] %}
{#- The baseline is the newest profile of the model taken by a build before
    the one that produced its current data. That build is the model's newest:
    its newest successful build in all_node_results (node_results and the
    journal of results not yet filed) or, inside a build's own
    transaction (an audit), the build in progress, whose profile is stored
    before its audits and whose result only with COMMIT. #}
with cur as (select cast({{ expr }} as double) as current_value from {{ model }}),
newest_build as (
    select run_id from (
        select run_id, completed_at as built_at from elt_state.all_node_results
        where node_id = '{{ elt_node_id }}' and status = 'success'
        union all
        select run_id, profiled_at from elt_state.column_profiles where node_id = '{{ elt_node_id }}'
    )
    order by built_at desc
    limit 1
),
prev as (
    select cast({{ prev_col }} as double) as previous_value
    from elt_state.column_profiles
    where node_id = '{{ elt_node_id }}'{% if metric != 'row_count' %} and column_name = '{{ col }}'{% endif %}
        and run_id not in (select run_id from newest_build)
    order by profiled_at desc
    limit 1
)
select '{{ metric }}' as metric, previous_value, current_value, {{ max_change }} as max_change
from cur, prev
where {% if metric == 'null_rate' -%}
    abs(coalesce(current_value, 0) - coalesce(previous_value, 0)) > {{ max_change }}
{%- elif metric == 'distinct_count' -%}
    {#- a profile taken while no drift test watched the model has no distinct count: no baseline yet #}
    previous_value is not null and abs(current_value - previous_value) > {{ max_change }} * abs(previous_value)
{%- else -%}
    (previous_value is null) <> (current_value is null)
    or abs(current_value - previous_value) > {{ max_change }} * abs(previous_value)
{%- endif %}
{%- endtest %}
