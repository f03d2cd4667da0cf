-- target: 
-- staging: 
-- rows: none

-- build

-- publish
