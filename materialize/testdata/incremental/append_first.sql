-- target: "main"."orders"
-- staging: "main"."orders__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "main"."orders__elt_tmp" AS select *
from "main"."raw"

-- publish
ALTER TABLE "main"."orders__elt_tmp" RENAME TO "orders"
