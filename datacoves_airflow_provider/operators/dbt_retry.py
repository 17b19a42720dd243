"""A documented import path: re-exports ``datacoves_airflow_provider.dbt.retry``."""

from datacoves_airflow_provider.dbt.retry import (
    dbt_retry_command,
    retry_selectors,
)

__all__ = [
    "dbt_retry_command",
    "retry_selectors",
]
