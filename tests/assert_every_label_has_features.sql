-- Every churn label reaches the training set: a label whose user has no
-- feature snapshot at or before label_ts would be dropped by the ASOF JOIN.
select labels.user_id, labels.label_ts
from {{ ref('churn_labels') }} as labels
anti join {{ ref('training_set') }} as training
    on training.user_id = labels.user_id and training.label_ts = labels.label_ts
