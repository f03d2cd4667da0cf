-- The plan of each labelled user as it was at label time, joined
-- point-in-time against the snapshot: the version valid at label_ts, never a
-- later one. NULL when the snapshot's history does not reach back to label_ts.
select
    labels.user_id,
    labels.label_ts,
    versions.plan,
    coalesce(versions.elt_is_deleted, false) as deleted_at_label
from {{ ref('churn_labels') }} as labels
left join {{ ref('users_snapshot') }} as versions
    on versions.user_id = labels.user_id
    and versions.elt_valid_from <= labels.label_ts
    and labels.label_ts < coalesce(versions.elt_valid_to, timestamp 'infinity')
