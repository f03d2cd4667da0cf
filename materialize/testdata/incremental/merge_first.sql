-- target: "main"."orders"
-- staging: "main"."orders__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "main"."orders__elt_tmp" AS SELECT * FROM (select *
from "main"."raw"
) AS __elt_row QUALIFY row_number() OVER (PARTITION BY "order_id", "line" ORDER BY "updated_at" DESC NULLS LAST, __elt_row DESC) = 1

-- publish
ALTER TABLE "main"."orders__elt_tmp" RENAME TO "orders"
