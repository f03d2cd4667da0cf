-- target: "main"."orders"
-- staging: 
-- rows: counted

-- build
-- main (sent alone)
COPY (SELECT * FROM (select *
from "main"."raw"
) ORDER BY ALL) TO '/p/out/orders.__elt_tmp' (FORMAT parquet, PARTITION_BY ("order_date"), FILENAME_PATTERN 'data_{i}', OVERWRITE_OR_IGNORE)

-- publish
CREATE OR REPLACE VIEW "main"."orders" AS SELECT * FROM read_parquet('out/orders/**/*.parquet', hive_partitioning = true)
