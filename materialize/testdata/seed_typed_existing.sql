-- target: "ref"."countries"
-- staging: "ref"."countries__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "ref"."countries__elt_tmp" AS SELECT * FROM read_csv('seeds/countries.csv', header = true, delim = ';', types = {'code': 'VARCHAR', 'it''s': 'DATE', 'population': 'BIGINT'})

-- publish
DROP TABLE IF EXISTS "ref"."countries"

ALTER TABLE "ref"."countries__elt_tmp" RENAME TO "countries"
