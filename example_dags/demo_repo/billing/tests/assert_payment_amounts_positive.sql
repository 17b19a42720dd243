-- A data test that fails (status "fail") when a landed payment is not positive.
select * from {{ ref('payments') }} where amount <= 0
