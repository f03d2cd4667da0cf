{#-
  generate_users_cdc() writes the example's CDC feed of the user table,
  data/raw/users_cdc.csv, when it is missing: one row per change with the
  operation (I insert, U update, D delete) and the time it happened. Like a
  real change feed it is not in order: some sign-up rows are delivered again
  at the end of the file, after the user's newer changes (and after the
  deletion of some deleted users). It uses the users of sample_users(), so
  the feed matches the event feeds; every value comes from pseudo_random().

  - every user signs up ('I', plan free) on their first active day;
  - about 40% upgrade ('U', plan pro) 1 to 6 days later;
  - half of the churners delete their account ('D') 10 days after their
    last active day.
-#}
{% macro generate_users_cdc(n_users=500, n_days=90, start_date='2025-01-01') -%}
{%- if run_query("select count(*) from glob('data/raw/users_cdc.csv')").rows[0][0] == 0 -%}
copy (
  {{ sample_users(n_users, n_days) }},
  changes as (
    select user_id, 'I' as op, 'free' as plan, country,
      first_day * 86400 + 9 * 3600 + floor({{ pseudo_random('user_id', 40) }} * 3600) as t, 0 as redelivered
    from users
    union all
    select user_id, 'U', 'pro', country,
      (first_day + 1 + floor({{ pseudo_random('user_id', 44) }} * 6)) * 86400 + 12 * 3600, 0
    from users
    where {{ pseudo_random('user_id', 41) }} < 0.4
    union all
    select user_id, 'D', null, country, (last_day + 10) * 86400 + 18 * 3600, 0
    from users
    where last_day < {{ n_days - 1 }} and {{ pseudo_random('user_id', 42) }} < 0.5
    union all
    select user_id, 'I', 'free', country,
      first_day * 86400 + 9 * 3600 + floor({{ pseudo_random('user_id', 40) }} * 3600), 1
    from users
    where {{ pseudo_random('user_id', 43) }} < 0.1
  )
  select user_id, op, plan, country, timestamp '{{ start_date }}' + to_seconds(cast(t as bigint)) as updated_at
  from changes
  order by redelivered, updated_at, user_id
) to '{{ project_dir | replace("'", "''") }}/data/raw/users_cdc.csv' (FORMAT csv, HEADER);
{% endif -%}
{%- endmacro %}
