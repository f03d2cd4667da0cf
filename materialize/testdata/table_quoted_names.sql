-- target: "we""ird"."my model"
-- staging: "we""ird"."my model__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "we""ird"."my model__elt_tmp" AS select 1 as a

-- publish
ALTER TABLE "we""ird"."my model__elt_tmp" RENAME TO "my model"
