-- target: "main"."dim_users"
-- staging: "temp"."main"."dim_users__elt_batch"
-- rows: counted

-- build
DROP TABLE IF EXISTS "temp"."main"."dim_users__elt_batch"

-- main (sent alone)
CREATE TEMP TABLE "dim_users__elt_batch" AS SELECT * FROM (SELECT *, coalesce((op = 'D'), false) AS __elt_deleted FROM (select * from changes
) AS __elt_model) AS __elt_change
QUALIFY row_number() OVER (PARTITION BY "user_id" ORDER BY "updated_at" IS NULL DESC, "updated_at" DESC, __elt_deleted DESC, hash(__elt_change)) = 1

-- publish

-- incremental publish
SELECT error('model dim_users: rows have a NULL in unique_key (user_id) or updated_at (updated_at) — filter them out or coalesce the column in the model') FROM "temp"."main"."dim_users__elt_batch" WHERE "user_id" IS NULL OR "updated_at" IS NULL HAVING count(*) > 0

CREATE TABLE IF NOT EXISTS "elt_state"."main__dim_users__tombstones" AS SELECT "user_id", "updated_at" AS elt_deleted_at FROM "temp"."main"."dim_users__elt_batch" LIMIT 0

MERGE INTO "main"."dim_users" AS __elt_target
USING (SELECT __elt_source.* FROM "temp"."main"."dim_users__elt_batch" AS __elt_source LEFT JOIN "elt_state"."main__dim_users__tombstones" AS __elt_tomb ON __elt_source."user_id" = __elt_tomb."user_id" WHERE __elt_tomb.elt_deleted_at IS NULL OR __elt_source."updated_at" > __elt_tomb.elt_deleted_at) AS __elt_source
ON __elt_target."user_id" = __elt_source."user_id"
WHEN MATCHED AND __elt_source.__elt_deleted AND (__elt_target."updated_at" IS NULL OR __elt_source."updated_at" >= __elt_target."updated_at") THEN DELETE
WHEN MATCHED AND NOT __elt_source.__elt_deleted AND (__elt_target."updated_at" IS NULL OR __elt_source."updated_at" > __elt_target."updated_at") THEN UPDATE SET "user_id" = __elt_source."user_id", "op" = __elt_source."op", "plan" = __elt_source."plan", "updated_at" = __elt_source."updated_at"
WHEN NOT MATCHED AND NOT __elt_source.__elt_deleted THEN INSERT ("user_id", "op", "plan", "updated_at") VALUES (__elt_source."user_id", __elt_source."op", __elt_source."plan", __elt_source."updated_at")

MERGE INTO "elt_state"."main__dim_users__tombstones" AS __elt_tomb
USING (SELECT "user_id", "updated_at", __elt_deleted FROM "temp"."main"."dim_users__elt_batch") AS __elt_source
ON __elt_tomb."user_id" = __elt_source."user_id"
WHEN MATCHED AND __elt_source."updated_at" > __elt_tomb.elt_deleted_at AND __elt_source.__elt_deleted THEN UPDATE SET elt_deleted_at = __elt_source."updated_at"
WHEN MATCHED AND __elt_source."updated_at" > __elt_tomb.elt_deleted_at THEN DELETE
WHEN NOT MATCHED AND __elt_source.__elt_deleted THEN INSERT VALUES (__elt_source."user_id", __elt_source."updated_at")

DROP TABLE "temp"."main"."dim_users__elt_batch"
