select
  date '{{ var("run_date") }}' as run_date,
  {{ var('days') }} as days,
  '{{ var("missing", "fallback") }}' as fallback,
  '{{ var("regions") | join("|") }}' as regions,
  '{{ env_var("ELT_REGION") }}' as region,
  '{{ env_var("ELT_UNSET", "none") }}' as unset,
  '{{ target.name }}' as target_name, {{ target.threads }} as threads, '{{ target.schema }}' as target_schema,
  '{{ run_started_at }}' as started, '{{ run_started_at.strftime("%Y%m%d") }}' as day,
  '{{ invocation_id }}' as invocation
