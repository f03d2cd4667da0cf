select {{ cents('amount_with_a_rather_long_column_name_for_hashing') }} as amount_cents from {{ ref('orders') }}
