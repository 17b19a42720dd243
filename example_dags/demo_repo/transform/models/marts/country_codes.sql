-- The model the docs' "DRY default_args" example runs (`dbt run -s country_codes`).
select 'US' as country_code, 'United States' as country_name
union all
select 'MX', 'Mexico'
