{#-
  days_window(days, order_by, partition_by) renders a window clause whose
  frame is the last `days` calendar days up to and including the current row's
  `order_by` date. It is a RANGE frame, so it counts days, not rows: a missing
  day shortens nothing and a day never reaches further back than it should.
-#}
{% macro days_window(days, order_by='feature_date', partition_by='user_id') -%}
over (
        partition by {{ partition_by }}
        order by {{ order_by }}
        range between interval {{ days - 1 }} days preceding and current row
    )
{%- endmacro %}
