-- target: "main"."users_snapshot"
-- staging: "main"."users_snapshot__elt_tmp"
-- rows: counted

-- build
DROP TABLE IF EXISTS "main"."users_snapshot__elt_tmp"

-- main (sent alone)
CREATE TABLE "main"."users_snapshot__elt_tmp" AS SELECT *, md5(concat_ws('|', coalesce(CAST("user_id" AS VARCHAR), '\N'), CAST(CAST("updated_at" AS TIMESTAMP) AS VARCHAR))) AS elt_scd_id, CAST("updated_at" AS TIMESTAMP) AS elt_updated_at, CAST("updated_at" AS TIMESTAMP) AS elt_valid_from, CAST(NULL AS TIMESTAMP) AS elt_valid_to, false AS elt_is_deleted FROM (select * from users
) AS __elt_source

SELECT error('snapshot users_snapshot: ' || count(*) || ' keys appear more than once in its SELECT (unique_key user_id) — make the key unique, e.g. keep the latest row per key') FROM (SELECT 1 FROM "main"."users_snapshot__elt_tmp" GROUP BY "user_id" HAVING count(*) > 1) HAVING count(*) > 0

SELECT error('snapshot users_snapshot: ' || count(*) || ' rows have a NULL updated_at (updated_at) — filter them out or coalesce the column in the model') FROM "main"."users_snapshot__elt_tmp" WHERE "updated_at" IS NULL HAVING count(*) > 0

-- publish
ALTER TABLE "main"."users_snapshot__elt_tmp" RENAME TO "users_snapshot"
