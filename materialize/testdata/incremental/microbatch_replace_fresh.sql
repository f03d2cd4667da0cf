INSERT INTO "main"."orders" ("order_id", "amount", "updated_at") SELECT "order_id", "amount", "updated_at" FROM (select *
from "main"."raw"
) AS __elt_batch WHERE "updated_at" >= TIMESTAMP '2025-01-03 00:00:00' AND "updated_at" < TIMESTAMP '2025-01-04 00:00:00'
