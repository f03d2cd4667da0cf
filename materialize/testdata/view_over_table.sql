-- target: "main"."orders"
-- staging: 
-- rows: none

-- build
DROP TABLE IF EXISTS "main"."orders"

-- main (sent alone)
CREATE OR REPLACE VIEW "main"."orders" AS select 1 as a

-- publish
