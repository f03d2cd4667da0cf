select 1 as added
