CREATE SCHEMA IF NOT EXISTS "raw";
CREATE OR REPLACE TEMP TABLE elt_stream_batch AS SELECT * FROM read_json(['/tmp/kafka-clicks-1.jsonl'], format='newline_delimited', ignore_errors=false);
CREATE OR REPLACE TEMP TABLE elt_stream_new AS SELECT * FROM elt_stream_batch WHERE (CAST("ts" AS TIMESTAMP) IS NOT NULL);
CREATE TABLE IF NOT EXISTS "raw"."clicks__quarantine" AS SELECT *, CAST(NULL AS VARCHAR) AS elt_reason, CAST(NULL AS VARCHAR) AS elt_run_id, CAST(NULL AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch LIMIT 0;
INSERT INTO "raw"."clicks__quarantine" BY NAME SELECT *, CASE WHEN CAST("ts" AS TIMESTAMP) IS NULL THEN 'null_event_time' END AS elt_reason, 'run-2' AS elt_run_id, CAST(now() AT TIME ZONE 'UTC' AS TIMESTAMP) AS elt_quarantined_at FROM elt_stream_batch WHERE NOT (CAST("ts" AS TIMESTAMP) IS NOT NULL);
SELECT count(*), count(*) FILTER (WHERE (CAST("ts" AS TIMESTAMP) IS NOT NULL)), count(*) FILTER (WHERE false), min(CAST("ts" AS TIMESTAMP)) FILTER (WHERE (CAST("ts" AS TIMESTAMP) IS NOT NULL)), max(CAST("ts" AS TIMESTAMP)) FILTER (WHERE (CAST("ts" AS TIMESTAMP) IS NOT NULL)) FROM elt_stream_batch;

-- next step
CREATE OR REPLACE TEMP TABLE elt_stream_out AS SELECT * FROM (select click_id, user_id, ts from elt_stream_new
) AS elt_rows QUALIFY row_number() OVER (PARTITION BY "click_id" ORDER BY "ts" DESC NULLS LAST) = 1;
DELETE FROM elt_stream_out USING "raw"."clicks" WHERE elt_stream_out."click_id" IS NOT DISTINCT FROM "raw"."clicks"."click_id" AND "raw"."clicks"."ts" > elt_stream_out."ts";
DELETE FROM "raw"."clicks" USING (SELECT DISTINCT "click_id" FROM elt_stream_out) AS elt_keys WHERE "raw"."clicks"."click_id" IS NOT DISTINCT FROM elt_keys."click_id";
INSERT INTO "raw"."clicks" BY NAME SELECT * FROM elt_stream_out;
SELECT count(*) FROM elt_stream_out;

-- next step
DROP TABLE IF EXISTS temp.elt_stream_out;
DROP TABLE IF EXISTS temp.elt_stream_new;
DROP TABLE IF EXISTS temp.elt_stream_batch;
