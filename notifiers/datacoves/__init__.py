"""Legacy import paths (``notifiers.datacoves.*``) kept for DAGs and dbt-coves YAML that use them."""
