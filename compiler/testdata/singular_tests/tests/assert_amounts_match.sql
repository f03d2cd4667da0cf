{{ config(severity='warn') }}
select o.id
from {{ ref('orders') }} o
join {{ ref('payments') }} p using (id)
where o.amount <> p.amount
