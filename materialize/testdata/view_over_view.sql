-- target: "main"."orders"
-- staging: 
-- rows: none

-- build
-- main (sent alone)
CREATE OR REPLACE VIEW "main"."orders" AS select 1 as a

-- publish
