-- target: "main"."dim_users"
-- staging: "main"."dim_users__elt_tmp"
-- rows: counted

-- build
DROP TABLE IF EXISTS "temp"."main"."dim_users__elt_batch"

-- main (sent alone)
CREATE TEMP TABLE "dim_users__elt_batch" AS SELECT * FROM (SELECT *, coalesce((op = 'D'), false) AS __elt_deleted FROM (select * from changes
) AS __elt_model) AS __elt_change
QUALIFY row_number() OVER (PARTITION BY "user_id" ORDER BY "updated_at" IS NULL DESC, "updated_at" DESC, __elt_deleted DESC, hash(__elt_change)) = 1

SELECT error('model dim_users: rows have a NULL in unique_key (user_id) or updated_at (updated_at) — filter them out or coalesce the column in the model') FROM "temp"."main"."dim_users__elt_batch" WHERE "user_id" IS NULL OR "updated_at" IS NULL HAVING count(*) > 0

CREATE OR REPLACE TABLE "elt_state"."main__dim_users__tombstones" AS SELECT "user_id", "updated_at" AS elt_deleted_at FROM "temp"."main"."dim_users__elt_batch" WHERE __elt_deleted

DROP TABLE IF EXISTS "main"."dim_users__elt_tmp"

CREATE TABLE "main"."dim_users__elt_tmp" AS SELECT * EXCLUDE (__elt_deleted) FROM "temp"."main"."dim_users__elt_batch" WHERE NOT __elt_deleted

DROP TABLE "temp"."main"."dim_users__elt_batch"

-- publish
ALTER TABLE "main"."dim_users__elt_tmp" RENAME TO "dim_users"
