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
DELETE FROM "main"."orders" AS __elt_target WHERE (__elt_target."order_date" BETWEEN CAST('2025-01-02' AS DATE) AND CAST('2025-01-03' AS DATE) OR __elt_target."order_date" IS NULL) AND EXISTS (SELECT 1 FROM (SELECT DISTINCT "order_date" FROM "temp"."main"."orders__elt_batch") AS __elt_batch WHERE __elt_batch."order_date" IS NOT DISTINCT FROM __elt_target."order_date")

INSERT INTO "main"."orders" ("order_id", "line", "amount", "updated_at", "order_date") SELECT "order_id", "line", "amount", "updated_at", "order_date" FROM "temp"."main"."orders__elt_batch"

DROP TABLE "temp"."main"."orders__elt_batch"
