-- target: "main"."orders"
-- staging: "main"."orders__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "main"."orders__elt_tmp" AS select 1 as a

-- publish
DROP TABLE IF EXISTS "main"."orders"

ALTER TABLE "main"."orders__elt_tmp" RENAME TO "orders"
