select * from {{ ref('base') }} -- no ephemeral: untouched
