-- target: "main"."orders"
-- staging: 
-- rows: counted

-- build
-- main (sent alone)
COPY (SELECT * FROM (select *
from "main"."raw"
) ORDER BY ALL) TO '/p/out/orders.__elt_tmp/data_0.csv' (FORMAT csv, HEADER)

-- publish
DROP TABLE IF EXISTS "main"."orders"

CREATE OR REPLACE VIEW "main"."orders" AS SELECT * FROM read_csv('target/external/orders/*.csv', header = true)
