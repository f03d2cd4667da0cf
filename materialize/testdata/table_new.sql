-- target: "main"."orders"
-- staging: "main"."orders__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "main"."orders__elt_tmp" AS with x as (select 1 as a)
select * from x

-- publish
ALTER TABLE "main"."orders__elt_tmp" RENAME TO "orders"
