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

CREATE TABLE "main"."users_snapshot" AS SELECT *, md5(concat_ws('|', coalesce(CAST("user_id" AS VARCHAR), '\N'), CAST(CAST("updated_at" AS TIMESTAMP) AS VARCHAR))) AS elt_scd_id, CAST("updated_at" AS TIMESTAMP) AS elt_updated_at, CAST("updated_at" AS TIMESTAMP) AS elt_valid_from, CAST(NULL AS TIMESTAMP) AS elt_valid_to, false AS elt_is_deleted FROM "temp"."main"."users_snapshot__elt_batch"

DROP TABLE "temp"."main"."users_snapshot__elt_batch"
