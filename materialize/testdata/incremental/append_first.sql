-- target: "main"."orders"
-- staging: "main"."orders__elt_tmp"
-- rows: counted

-- build
DROP TABLE IF EXISTS "main"."orders__elt_tmp"

-- main (sent alone)
CREATE TABLE "main"."orders__elt_tmp" AS select *
from "main"."raw"

-- publish
ALTER TABLE "main"."orders__elt_tmp" RENAME TO "orders"
