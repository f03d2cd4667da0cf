{#-
  pseudo_random(seed, salt) is a deterministic pseudo-random number in [0, 1)
  computed from an integer column or expression `seed` and an integer `salt`
  that picks an independent stream. It is pure 64-bit integer arithmetic
  (a Lehmer step, a squaring step and another Lehmer step modulo the prime
  2^31 - 1), so the same seed gives the same number on every machine and
  every DuckDB version — unlike random(). `seed` appears several times in
  the expression: pass a column name, not a subquery.
-#}
{% macro pseudo_random(seed, salt=0) -%}
{%- set s0 -%}((cast({{ seed }} as bigint) * 1000003 + {{ salt }} * 7919 + 12345) % 2147483647){%- endset -%}
{%- set s1 -%}(({{ s0 }} * {{ s0 }} + 1013904223) % 2147483647){%- endset -%}
((({{ s1 }} * 16807 + {{ salt }}) % 2147483647) / 2147483647.0)
{%- endmacro %}
