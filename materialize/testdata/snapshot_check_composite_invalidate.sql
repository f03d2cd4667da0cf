-- target: "main"."users_snapshot"
-- staging: "temp"."main"."users_snapshot__elt_batch"
-- rows: counted

-- build
DROP TABLE IF EXISTS "temp"."main"."users_snapshot__elt_batch"

-- main (sent alone)
CREATE TEMP TABLE "users_snapshot__elt_batch" AS select * from users

-- publish

-- incremental publish
SELECT error('snapshot users_snapshot: ' || count(*) || ' keys appear more than once in its SELECT (unique_key user_id, region) — make the key unique, e.g. keep the latest row per key') FROM (SELECT 1 FROM "temp"."main"."users_snapshot__elt_batch" GROUP BY "user_id", "region" HAVING count(*) > 1) HAVING count(*) > 0

CREATE OR REPLACE TEMP TABLE "users_snapshot__elt_changes" AS SELECT *, CASE WHEN __elt_kind = 'new' THEN (CASE WHEN __elt_last_to IS NULL THEN TIMESTAMP '2025-03-01 12:00:00' ELSE greatest(TIMESTAMP '2025-03-01 12:00:00', __elt_last_to) END) ELSE greatest(TIMESTAMP '2025-03-01 12:00:00', __elt_cur_from + INTERVAL 1 MICROSECOND) END AS __elt_at FROM (
  SELECT src.*, cur.elt_scd_id AS __elt_cur_id, cur.elt_valid_from AS __elt_cur_from, h.__elt_last_to, CASE WHEN cur.__elt_cur IS NULL THEN 'new' WHEN src.__elt_src IS NULL THEN CASE WHEN NOT false THEN 'deleted' END WHEN false THEN 'revived' WHEN (src."plan" IS DISTINCT FROM cur."plan" OR src."updated_at" IS DISTINCT FROM cur."updated_at") THEN 'changed' END AS __elt_kind
  FROM (SELECT *, true AS __elt_src FROM "temp"."main"."users_snapshot__elt_batch") AS src
  FULL JOIN (SELECT "user_id", "region", elt_scd_id, elt_updated_at, elt_valid_from, "plan", "updated_at", true AS __elt_cur FROM "main"."users_snapshot" WHERE elt_valid_to IS NULL) AS cur ON src."user_id" IS NOT DISTINCT FROM cur."user_id" AND src."region" IS NOT DISTINCT FROM cur."region"
  LEFT JOIN (SELECT "user_id", "region", max(elt_valid_to) AS __elt_last_to FROM "main"."users_snapshot" GROUP BY "user_id", "region") AS h ON cur.__elt_cur IS NULL AND src."user_id" IS NOT DISTINCT FROM h."user_id" AND src."region" IS NOT DISTINCT FROM h."region"
) WHERE __elt_kind IS NOT NULL

UPDATE "main"."users_snapshot" AS t SET elt_valid_to = c.__elt_at FROM "temp"."main"."users_snapshot__elt_changes" AS c
WHERE t.elt_scd_id = c.__elt_cur_id AND t.elt_valid_to IS NULL AND c.__elt_kind IN ('changed', 'revived', 'deleted')

INSERT INTO "main"."users_snapshot" BY NAME SELECT "user_id", "region", "plan", "updated_at", md5(concat_ws('|', coalesce(CAST("user_id" AS VARCHAR), '\N'), coalesce(CAST("region" AS VARCHAR), '\N'), CAST(__elt_at AS VARCHAR))) AS elt_scd_id, __elt_at AS elt_updated_at, __elt_at AS elt_valid_from FROM "temp"."main"."users_snapshot__elt_changes" WHERE __elt_kind IN ('new', 'changed', 'revived')

DROP TABLE "temp"."main"."users_snapshot__elt_changes"

DROP TABLE "temp"."main"."users_snapshot__elt_batch"
