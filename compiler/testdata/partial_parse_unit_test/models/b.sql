select 2 as y
