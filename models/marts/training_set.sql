-- The training set: every churn label with the user's features as they were
-- known at label time. Each ASOF JOIN takes, per label, the latest row known
-- at or before label_ts, never one from after it:
--   - the daily feature snapshot completed at or before label_ts;
--   - the user's latest 10-minute purchase window of the stream model
--     purchases_10m that had ended by label_ts (a window is known once it
--     ends, so its end, window_start + 10 minutes, is compared).
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
    recent.window_start + interval 10 minute as last_purchase_window_end,
    recent.purchases_10m as last_window_purchases,
    labels.churned
from {{ ref('churn_labels') }} as labels
asof join {{ ref('user_features') }} as features
    on labels.user_id = features.user_id
    and labels.label_ts >= features.feature_ts
asof left join {{ ref('purchases_10m') }} as recent
    on labels.user_id = recent.user_id
    and labels.label_ts >= recent.window_start + interval 10 minute
