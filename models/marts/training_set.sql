-- The training set: every churn label with the user's features as they were
-- known at label time. The ASOF JOIN takes, per label, the latest feature
-- snapshot completed at or before label_ts, never one from after it.
select
    labels.user_id,
    labels.label_ts,
    features.feature_date,
    features.feature_ts,
    features.spend_7d,
    features.spend_30d,
    features.purchases_30d,
    features.logins_7d,
    features.logins_30d,
    features.days_since_last_login,
    labels.churned
from {{ ref('churn_labels') }} as labels
asof join {{ ref('user_features') }} as features
    on labels.user_id = features.user_id
    and labels.label_ts >= features.feature_ts
