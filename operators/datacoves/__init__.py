"""Legacy import paths (``operators.datacoves.*``) kept for DAGs and dbt-coves YAML that use them."""
