select customer_id, count(*) as payments, sum(amount) as total
from {{ ref('payments') }}
group by customer_id
