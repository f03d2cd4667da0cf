CREATE SCHEMA IF NOT EXISTS "main";
CREATE OR REPLACE TEMP TABLE elt_stream_batch AS SELECT * FROM (SELECT * FROM (VALUES (CAST(NULL AS BIGINT), CAST(NULL AS DOUBLE), CAST(NULL AS TIMESTAMP))) AS elt_empty("user_id", "amount", "event_ts") LIMIT 0);
CREATE OR REPLACE TEMP TABLE elt_stream_new AS SELECT * FROM elt_stream_batch WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)));
CREATE TABLE IF NOT EXISTS "main"."purchases_10m__quarantine" AS SELECT *, CAST(NULL AS VARCHAR) AS elt_reason, CAST(NULL AS VARCHAR) AS elt_run_id, CAST(NULL AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch LIMIT 0;
INSERT INTO "main"."purchases_10m__quarantine" BY NAME SELECT *, coalesce(CASE WHEN CAST("event_ts" AS TIMESTAMP) IS NULL THEN 'null_event_time' END, nullif(concat_ws(', ', CASE WHEN NOT coalesce((amount > 0), false) THEN 'positive' END), '')) AS elt_reason, 'run-1' AS elt_run_id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch WHERE NOT (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)));
CREATE TABLE IF NOT EXISTS "elt_state"."stream:main.purchases_10m" AS SELECT * FROM elt_stream_new LIMIT 0;
INSERT INTO "elt_state"."stream:main.purchases_10m" BY NAME SELECT * FROM elt_stream_new;
SELECT count(*), count(*) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))), count(*) FILTER (WHERE false), min(CAST("event_ts" AS TIMESTAMP)) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))), max(CAST("event_ts" AS TIMESTAMP)) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))) FROM elt_stream_batch;

-- next step
CREATE OR REPLACE TEMP TABLE elt_stream_out AS SELECT * FROM (select user_id, time_bucket(interval 10 minute, event_ts) as window_start, count(*) as n
from "elt_state"."stream:main.purchases_10m"
group by all
) AS elt_windows;
CREATE TABLE "main"."purchases_10m" AS SELECT * FROM elt_stream_out ORDER BY "user_id", "window_start";
SELECT count(*) FROM elt_stream_out;

-- next step
DROP TABLE IF EXISTS temp.elt_stream_out;
DROP TABLE IF EXISTS temp.elt_stream_new;
DROP TABLE IF EXISTS temp.elt_stream_batch;

-- next step
DROP TABLE IF EXISTS "main"."purchases_10m";
DROP TABLE IF EXISTS "main"."purchases_10m__quarantine";
DROP TABLE IF EXISTS "elt_state"."stream:main.purchases_10m";
