-- target: "ref"."countries"
-- staging: "ref"."countries__elt_tmp"
-- rows: counted by main

-- build
-- main (sent alone)
CREATE OR REPLACE TABLE "ref"."countries__elt_tmp" AS SELECT * FROM read_csv('seeds/countries.csv', header = true)

-- publish
ALTER TABLE "ref"."countries__elt_tmp" RENAME TO "countries"
