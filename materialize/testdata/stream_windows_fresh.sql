CREATE SCHEMA IF NOT EXISTS "main";
CREATE OR REPLACE TEMP TABLE elt_stream_batch AS SELECT * FROM read_json(['/p/landing/a.jsonl', '/p/landing/b.jsonl'], columns={'user_id': 'BIGINT', 'amount': 'DOUBLE', 'event_ts': 'TIMESTAMP'}, format='newline_delimited');
CREATE OR REPLACE TEMP TABLE elt_stream_new AS SELECT * FROM elt_stream_batch WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)));
CREATE TABLE IF NOT EXISTS "main"."purchases_10m__quarantine" AS SELECT *, CAST(NULL AS VARCHAR) AS elt_reason, CAST(NULL AS VARCHAR) AS elt_run_id, CAST(NULL AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch LIMIT 0;
INSERT INTO "main"."purchases_10m__quarantine" BY NAME SELECT *, coalesce(CASE WHEN CAST("event_ts" AS TIMESTAMP) IS NULL THEN 'null_event_time' END, nullif(concat_ws(', ', CASE WHEN NOT coalesce((amount > 0), false) THEN 'positive' END), '')) AS elt_reason, 'run-1' AS elt_run_id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch WHERE NOT (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)));
CREATE TABLE IF NOT EXISTS "elt_state"."stream:main.purchases_10m" AS SELECT * FROM elt_stream_new LIMIT 0;
SELECT count(*), count(*) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))), count(*) FILTER (WHERE false), min(CAST("event_ts" AS TIMESTAMP)) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))), max(CAST("event_ts" AS TIMESTAMP)) FILTER (WHERE (CAST("event_ts" AS TIMESTAMP) IS NOT NULL AND (coalesce((amount > 0), false)))) FROM elt_stream_batch;

-- next step
CREATE OR REPLACE TEMP TABLE elt_stream_out AS SELECT * FROM (select user_id, time_bucket(interval 10 minute, event_ts) as window_start, count(*) as n
from elt_stream_new
group by all
) AS elt_windows;
CREATE TABLE "main"."purchases_10m" AS SELECT * FROM elt_stream_out ORDER BY "user_id", "window_start";
SELECT count(*) FROM elt_stream_out;

-- next step
SELECT (SELECT max(CAST("window_start" AS TIMESTAMP)) FROM (select user_id, time_bucket(interval 10 minute, event_ts) as window_start, count(*) as n
from (SELECT elt_probe_events.* REPLACE (CAST(TIMESTAMP '2026-01-01 10:30:00' AS TIMESTAMP) AS "event_ts") FROM (SELECT * FROM elt_stream_new LIMIT 100) AS elt_probe_events, range(100) AS elt_probe_copies(elt_copy))
group by all
) AS elt_probe WHERE CAST("window_start" AS TIMESTAMP) <= TIMESTAMP '2026-01-01 10:30:00'), (SELECT max(CAST("window_start" AS TIMESTAMP)) FROM "main"."purchases_10m" WHERE CAST("window_start" AS TIMESTAMP) <= TIMESTAMP '2026-01-01 10:30:00');

-- next step
INSERT INTO "elt_state"."stream:main.purchases_10m" BY NAME SELECT * FROM elt_stream_new WHERE CAST("event_ts" AS TIMESTAMP) >= TIMESTAMP '2026-01-01 10:30:00';
DROP TABLE IF EXISTS temp.elt_stream_out;
DROP TABLE IF EXISTS temp.elt_stream_new;
DROP TABLE IF EXISTS temp.elt_stream_batch;
