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
DELETE FROM "main"."orders" WHERE "updated_at" >= TIMESTAMP '2025-01-02 00:00:00' AND "updated_at" < TIMESTAMP '2025-01-03 00:00:00'

INSERT INTO "main"."orders" ("order_id", "line", "amount", "updated_at") SELECT "order_id", "line", "amount", "updated_at" FROM "temp"."main"."orders__elt_batch" WHERE "updated_at" >= TIMESTAMP '2025-01-02 00:00:00' AND "updated_at" < TIMESTAMP '2025-01-03 00:00:00'

DROP TABLE "temp"."main"."orders__elt_batch"
