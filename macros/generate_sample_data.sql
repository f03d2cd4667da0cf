{#-
  generate_sample_data() writes the example's raw feeds when they are missing,
  so `elt build` on a fresh clone just works. It is called by the on-run-start
  hook in project.yaml and renders to nothing once the files exist.

  The feeds look like real ones: CSV files partitioned by the day a row was
  ingested (data/raw/<feed>/date=YYYY-MM-DD/data_0.csv), some rows arriving
  days late, and some events re-ingested later under the same event_id
  (purchases sometimes with a corrected amount). Every value comes from
  pseudo_random(), never random(), so the data is identical on every machine.

  COPY ... TO resolves a relative path against the process's working
  directory, so the target paths are built from project_dir.
-#}
{% macro generate_sample_data(n_users=500, n_days=90, start_date='2025-01-01') -%}
{%- set root = project_dir | replace("'", "''") ~ '/data/raw' -%}
{%- if run_query("select count(*) from glob('data/raw/purchases/*/*.csv')").rows[0][0] == 0 -%}
{{ make_directory(project_dir ~ '/data') }};
{{ make_directory(project_dir ~ '/data/raw') }};
copy (
  {{ sample_users(n_users, n_days) }},
  cells as (
    select users.*, d.day, users.user_id * 1000 + d.day * 10 as cell
    from users, range(0, {{ n_days }}) as d(day)
    where d.day between users.first_day and users.last_day
  ),
  purchases as (
    select
      printf('p-%06d', cell) as event_id,
      user_id,
      timestamp '{{ start_date }}' + to_days(cast(day as integer))
        + to_seconds(floor(8 * 3600 + {{ pseudo_random('cell', 21) }} * 14 * 3600)) as event_ts,
      cast(round(4.99 + {{ pseudo_random('cell', 22) }} * 95, 2) as decimal(10, 2)) as amount,
      country,
      {{ pseudo_random('cell', 23) }} as r_delay,
      {{ pseudo_random('cell', 24) }} as r_dup,
      {{ pseudo_random('cell', 25) }} as r_fix,
      cell
    from cells
    where {{ pseudo_random('cell', 20) }} < buy_p
  ),
  ingested as (
    select *, event_ts + to_seconds(case
        when r_delay < 0.05 then floor(86400 + r_delay * 20 * 3 * 86400)  -- late: 1 to 4 days
        else floor(120 + r_delay * 3480) end) as ingest_ts                 -- 2 to 60 minutes
    from purchases
  ),
  feed as (
    select event_id, user_id, event_ts, amount, country, ingest_ts from ingested
    union all
    -- re-ingested a day or three later; half of them with a corrected amount
    select event_id, user_id, event_ts,
      case when r_fix < 0.5 then cast(round(amount * 0.9, 2) as decimal(10, 2)) else amount end,
      country, ingest_ts + to_days(1 + cast(floor(r_fix * 3) as integer))
    from ingested
    where r_dup < 0.04
  )
  select *, cast(ingest_ts as date) as "date" from feed order by ingest_ts, event_id
) to '{{ root }}/purchases' (FORMAT csv, HEADER, PARTITION_BY ("date"), OVERWRITE_OR_IGNORE);
{% endif -%}
{%- if run_query("select count(*) from glob('data/raw/logins/*/*.csv')").rows[0][0] == 0 -%}
{{ make_directory(project_dir ~ '/data') }};
{{ make_directory(project_dir ~ '/data/raw') }};
copy (
  {{ sample_users(n_users, n_days) }},
  cells as (
    select users.*, d.day, s.slot, users.user_id * 1000 + d.day * 10 + s.slot as cell
    from users, range(0, {{ n_days }}) as d(day), range(0, 2) as s(slot)
    where d.day between users.first_day and users.last_day
  ),
  logins as (
    select
      printf('l-%06d', cell) as event_id,
      user_id,
      timestamp '{{ start_date }}' + to_days(cast(day as integer))
        + to_seconds(floor(7 * 3600 + {{ pseudo_random('cell', 31) }} * 16 * 3600)) as event_ts,
      ['ios', 'android', 'web'][1 + cast(floor({{ pseudo_random('cell', 32) }} * 3) as integer)] as device,
      {{ pseudo_random('cell', 33) }} as r_delay,
      {{ pseudo_random('cell', 34) }} as r_dup
    from cells
    where {{ pseudo_random('cell', 30) }} < login_p * [1.0, 0.5][slot + 1]
  ),
  ingested as (
    select *, event_ts + to_seconds(case
        when r_delay < 0.04 then floor(86400 + r_delay * 25 * 2 * 86400)  -- late: 1 to 3 days
        else floor(30 + r_delay * 1770) end) as ingest_ts                  -- 30 seconds to 30 minutes
    from logins
  ),
  feed as (
    select event_id, user_id, event_ts, device, ingest_ts from ingested
    union all
    select event_id, user_id, event_ts, device, ingest_ts + to_days(1) from ingested where r_dup < 0.02
  )
  select *, cast(ingest_ts as date) as "date" from feed order by ingest_ts, event_id
) to '{{ root }}/logins' (FORMAT csv, HEADER, PARTITION_BY ("date"), OVERWRITE_OR_IGNORE);
{% endif -%}
{%- endmacro %}

{#-
  sample_users(n_users, n_days) renders the `with users as (...)` CTE shared by
  the sample feeds: for each user the first and last active day (about a third
  stop using the product inside the window: the churners), how often they log
  in and buy, and their country (a code of seeds/countries.csv).
-#}
{% macro sample_users(n_users, n_days) -%}
with draws as (
    select
      u as user_id,
      {{ pseudo_random('u', 1) }} as r_first,
      {{ pseudo_random('u', 2) }} as r_churn,
      {{ pseudo_random('u', 3) }} as r_life,
      {{ pseudo_random('u', 4) }} as r_login,
      {{ pseudo_random('u', 5) }} as r_buy,
      {{ pseudo_random('u', 6) }} as r_country
    from range(1, {{ n_users + 1 }}) as t(u)
  ),
  users as (
    select
      user_id,
      cast(floor(r_first * {{ n_days // 2 }}) as integer) as first_day,
      case when r_churn < 0.35
        then least({{ n_days - 1 }}, cast(floor(r_first * {{ n_days // 2 }}) as integer) + 7 + cast(floor(r_life * 50) as integer))
        else {{ n_days - 1 }} end as last_day,
      0.05 + 0.3 * r_login as login_p,
      0.03 + 0.12 * r_buy as buy_p,
      ['DE', 'FR', 'NL', 'SE', 'GB', 'US'][1 + cast(floor(r_country * 6) as integer)] as country
    from draws
  )
{%- endmacro %}

{#-
  make_directory(path) renders a statement that creates the directory `path`
  (an absolute path whose parent exists) and writes nothing into it: a
  partitioned COPY of no rows creates its target directory, and
  OVERWRITE_OR_IGNORE leaves whatever the directory already holds alone.
  DuckDB's COPY creates only the last directory of a path, so this is how
  the sample feeds get data/ and data/raw/ on a fresh clone.
-#}
{% macro make_directory(path) -%}
copy (select 0 as part, 0 as nothing where false)
  to '{{ path | replace("'", "''") }}' (FORMAT csv, PARTITION_BY (part), OVERWRITE_OR_IGNORE)
{%- endmacro %}
