-- Point-in-time correctness: a training row must use only a feature snapshot
-- known at its label time. Returns the rows that look into the future.
select user_id, label_ts, feature_date, feature_ts
from {{ ref('training_set') }}
where feature_ts > label_ts
