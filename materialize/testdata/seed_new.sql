-- target: "ref"."countries"
-- staging: "ref"."countries__elt_tmp"
-- rows: counted

-- build
DROP TABLE IF EXISTS "ref"."countries__elt_tmp"

-- main (sent alone)
CREATE TABLE "ref"."countries__elt_tmp" AS SELECT * FROM read_csv('seeds/countries.csv', header = true)

-- publish
ALTER TABLE "ref"."countries__elt_tmp" RENAME TO "countries"
