{#-
  generate_landing_purchases() fills the example's landing folder,
  data/landing/purchases/, when it is empty: the purchase history of the raw
  feed (each event_id once, its latest ingest) as one newline-delimited JSON
  file, history.jsonl. `elt build` then streams it into purchases_10m like
  any file a producer drops there. It is called by the on-run-start hook,
  after generate_sample_data(), and renders to nothing once a file exists.
-#}
{% macro generate_landing_purchases() -%}
{%- if run_query("select count(*) from glob('data/landing/purchases/*.jsonl')").rows[0][0] == 0 -%}
{{ make_directory(project_dir ~ '/data/landing') }};
{{ make_directory(project_dir ~ '/data/landing/purchases') }};
copy (
  select cast(event_id as varchar) as event_id, cast(user_id as integer) as user_id,
         cast(amount as decimal(10, 2)) as amount, cast(event_ts as timestamp) as event_ts
  from read_csv('data/raw/purchases/date=*/*.csv', header = true, hive_partitioning = true)
  qualify row_number() over (partition by event_id order by ingest_ts desc, amount desc) = 1
  order by event_ts, event_id
) to '{{ project_dir | replace("'", "''") }}/data/landing/purchases/history.jsonl' (FORMAT json);
{% endif -%}
{%- endmacro %}

{#-
  generate_live_purchases(n, minutes) drops one new file of n purchases made
  in the last `minutes` minutes (random users of the example, random
  amounts) into the landing folder, named after the invocation so each call
  adds a file: a stand-in for a live producer. Run it while `elt stream`
  runs and watch the windows of purchases_10m move:

    elt run-operation generate_live_purchases --args '{n: 5000}'
-#}
{% macro generate_live_purchases(n=1000, minutes=10) -%}
copy (
  select printf('live-%s-%06d', '{{ invocation_id }}', i) as event_id,
         cast(1 + floor(random() * 500) as integer) as user_id,
         cast(round(4.99 + random() * 95, 2) as decimal(10, 2)) as amount,
         cast(now() at time zone 'UTC' as timestamp) - to_seconds(cast(floor(random() * {{ minutes }} * 60) as bigint)) as event_ts
  from range({{ n }}) as t(i)
) to '{{ project_dir | replace("'", "''") }}/data/landing/purchases/live-{{ invocation_id }}.jsonl' (FORMAT json);
{%- endmacro %}
