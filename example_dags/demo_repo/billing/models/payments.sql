-- Fails with "No files found" until the landing file exists.
select id, customer_id, amount
from read_csv_auto('{{ env_var("BILLING_LANDING_DIR", "landing") }}/payments.csv')
