select 1 as q_r
