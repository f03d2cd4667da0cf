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
DELETE FROM "main"."orders" AS __elt_target WHERE __elt_target."order_id" BETWEEN CAST('7' AS INTEGER) AND CAST('7' AS INTEGER) AND EXISTS (SELECT 1 FROM "temp"."main"."orders__elt_batch" AS __elt_batch WHERE __elt_batch."order_id" IS NOT DISTINCT FROM __elt_target."order_id" AND __elt_batch."line" IS NOT DISTINCT FROM __elt_target."line")

INSERT INTO "main"."orders" ("order_id", "line", "amount", "updated_at") SELECT "order_id", "line", "amount", "updated_at" FROM "temp"."main"."orders__elt_batch"

DROP TABLE "temp"."main"."orders__elt_batch"
