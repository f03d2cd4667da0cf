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
ALTER TABLE "main"."orders" ALTER COLUMN "order_id" SET DATA TYPE BIGINT

ALTER TABLE "main"."orders" DROP COLUMN "amount"

ALTER TABLE "main"."orders" ADD COLUMN "channel" VARCHAR

MERGE INTO "main"."orders" AS __elt_target
USING (SELECT * FROM "temp"."main"."orders__elt_batch" AS __elt_row QUALIFY row_number() OVER (PARTITION BY "order_id", "line" ORDER BY "updated_at" DESC NULLS LAST, __elt_row DESC) = 1) AS __elt_source
ON __elt_target."order_id" IS NOT DISTINCT FROM __elt_source."order_id" AND __elt_target."line" IS NOT DISTINCT FROM __elt_source."line"
WHEN MATCHED AND (__elt_target."updated_at" IS NULL OR __elt_source."updated_at" > __elt_target."updated_at") THEN UPDATE SET "updated_at" = __elt_source."updated_at", "channel" = __elt_source."channel"
WHEN NOT MATCHED THEN INSERT ("order_id", "line", "updated_at", "channel") VALUES (__elt_source."order_id", __elt_source."line", __elt_source."updated_at", __elt_source."channel")

DROP TABLE "temp"."main"."orders__elt_batch"
