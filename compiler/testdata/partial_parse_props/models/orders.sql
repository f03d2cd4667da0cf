select 2 as id, 'open' as status, 10.5 as amount_with_a_rather_long_column_name_for_hashing
