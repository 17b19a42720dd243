{{ config(tags=["daily_run_fivetran"]) }}

-- The model the Datacoves docs' examples run (`dbt run -s personal_loans`).
select
    customer_id,
    lifetime_value * 10 as credit_limit
from {{ ref('customer_orders') }}
