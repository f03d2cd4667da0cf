-- target: "we""ird"."my model"
-- staging: "we""ird"."my model__elt_tmp"
-- rows: counted

-- build
DROP TABLE IF EXISTS "we""ird"."my model__elt_tmp"

-- main (sent alone)
CREATE TABLE "we""ird"."my model__elt_tmp" AS select 1 as a

-- publish
ALTER TABLE "we""ird"."my model__elt_tmp" RENAME TO "my model"
