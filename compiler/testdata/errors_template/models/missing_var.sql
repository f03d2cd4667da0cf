select
  '{{ var("run_dat") }}'
