select 1 as b_c, 2 as id, 'x' as status
