-- target: "main"."users_snapshot"
-- staging: "temp"."main"."users_snapshot__elt_batch"
-- rows: counted

-- build
DROP TABLE IF EXISTS "temp"."main"."users_snapshot__elt_batch"

-- main (sent alone)
CREATE TEMP TABLE "users_snapshot__elt_batch" AS select * from users

-- publish

-- incremental publish
SELECT error('snapshot users_snapshot: ' || count(*) || ' keys appear more than once in its SELECT (unique_key user_id) — make the key unique, e.g. keep the latest row per key') FROM (SELECT 1 FROM "temp"."main"."users_snapshot__elt_batch" GROUP BY "user_id" HAVING count(*) > 1) HAVING count(*) > 0

SELECT error('snapshot users_snapshot: ' || count(*) || ' rows have a NULL updated_at (updated_at) — filter them out or coalesce the column in the model') FROM "temp"."main"."users_snapshot__elt_batch" WHERE "updated_at" IS NULL HAVING count(*) > 0

CREATE OR REPLACE TEMP TABLE "users_snapshot__elt_changes" AS SELECT *, CASE WHEN __elt_kind = 'new' THEN (CASE WHEN __elt_last_to IS NULL THEN CASE __elt_kind WHEN 'new' THEN (CASE WHEN __elt_last_to IS NULL OR CAST("updated_at" AS TIMESTAMP) > __elt_last_to THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) WHEN 'changed' THEN CAST("updated_at" AS TIMESTAMP) WHEN 'revived' THEN (CASE WHEN CAST("updated_at" AS TIMESTAMP) > __elt_cur_from THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) ELSE TIMESTAMP '2025-03-01 12:00:00' END ELSE greatest(CASE __elt_kind WHEN 'new' THEN (CASE WHEN __elt_last_to IS NULL OR CAST("updated_at" AS TIMESTAMP) > __elt_last_to THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) WHEN 'changed' THEN CAST("updated_at" AS TIMESTAMP) WHEN 'revived' THEN (CASE WHEN CAST("updated_at" AS TIMESTAMP) > __elt_cur_from THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) ELSE TIMESTAMP '2025-03-01 12:00:00' END, __elt_last_to) END) ELSE greatest(CASE __elt_kind WHEN 'new' THEN (CASE WHEN __elt_last_to IS NULL OR CAST("updated_at" AS TIMESTAMP) > __elt_last_to THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) WHEN 'changed' THEN CAST("updated_at" AS TIMESTAMP) WHEN 'revived' THEN (CASE WHEN CAST("updated_at" AS TIMESTAMP) > __elt_cur_from THEN CAST("updated_at" AS TIMESTAMP) ELSE TIMESTAMP '2025-03-01 12:00:00' END) ELSE TIMESTAMP '2025-03-01 12:00:00' END, __elt_cur_from + INTERVAL 1 MICROSECOND) END AS __elt_at FROM (
  SELECT src.*, cur.elt_scd_id AS __elt_cur_id, cur.elt_valid_from AS __elt_cur_from, h.__elt_last_to, CASE WHEN cur.__elt_cur IS NULL THEN 'new' WHEN src.__elt_src IS NULL THEN NULL WHEN false THEN 'revived' WHEN (cur.elt_updated_at IS NULL OR CAST(src."updated_at" AS TIMESTAMP) > cur.elt_updated_at) THEN 'changed' END AS __elt_kind
  FROM (SELECT *, true AS __elt_src FROM "temp"."main"."users_snapshot__elt_batch") AS src
  FULL JOIN (SELECT "user_id", elt_scd_id, elt_updated_at, elt_valid_from, true AS __elt_cur FROM "main"."users_snapshot" WHERE elt_valid_to IS NULL) AS cur ON src."user_id" IS NOT DISTINCT FROM cur."user_id"
  LEFT JOIN (SELECT "user_id", max(elt_valid_to) AS __elt_last_to FROM "main"."users_snapshot" GROUP BY "user_id") AS h ON cur.__elt_cur IS NULL AND src."user_id" IS NOT DISTINCT FROM h."user_id"
) WHERE __elt_kind IS NOT NULL

UPDATE "main"."users_snapshot" AS t SET elt_valid_to = c.__elt_at FROM "temp"."main"."users_snapshot__elt_changes" AS c
WHERE t.elt_scd_id = c.__elt_cur_id AND t.elt_valid_to IS NULL AND c.__elt_kind IN ('changed', 'revived', 'deleted')

INSERT INTO "main"."users_snapshot" BY NAME SELECT "user_id", "region", "plan", "updated_at", md5(concat_ws('|', coalesce(CAST("user_id" AS VARCHAR), '\N'), CAST(__elt_at AS VARCHAR))) AS elt_scd_id, CAST("updated_at" AS TIMESTAMP) AS elt_updated_at, __elt_at AS elt_valid_from FROM "temp"."main"."users_snapshot__elt_changes" WHERE __elt_kind IN ('new', 'changed', 'revived')

DROP TABLE "temp"."main"."users_snapshot__elt_changes"

DROP TABLE "temp"."main"."users_snapshot__elt_batch"
