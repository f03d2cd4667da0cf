select
  a,
  {{ ref('x' }}
