-- target: "main"."orders"
-- staging: "temp"."main"."orders__elt_batch"
-- rows: counted

-- build
DROP TABLE IF EXISTS "temp"."main"."orders__elt_batch"

-- main (sent alone)
CREATE TEMP TABLE "orders__elt_batch" AS select *
from "main"."raw"

-- publish

-- incremental publish
MERGE INTO "main"."orders" AS __elt_target
USING (SELECT * FROM "temp"."main"."orders__elt_batch" AS __elt_row QUALIFY row_number() OVER (PARTITION BY "order_id", "line" ORDER BY "updated_at" DESC NULLS LAST, __elt_row DESC) = 1) AS __elt_source
ON __elt_target."order_id" IS NOT DISTINCT FROM __elt_source."order_id" AND __elt_target."line" IS NOT DISTINCT FROM __elt_source."line"
WHEN MATCHED AND (__elt_target."updated_at" IS NULL OR __elt_source."updated_at" > __elt_target."updated_at") THEN UPDATE SET "amount" = __elt_source."amount", "updated_at" = __elt_source."updated_at"
WHEN NOT MATCHED THEN INSERT ("order_id", "line", "amount", "updated_at") VALUES (__elt_source."order_id", __elt_source."line", __elt_source."amount", __elt_source."updated_at")

DROP TABLE "temp"."main"."orders__elt_batch"
