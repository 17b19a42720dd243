"""A documented import path: re-exports ``datacoves_airflow_provider.dbt.platform_api``."""

from datacoves_airflow_provider.dbt.platform_api import (
    DBT_API_TOKEN_VARIABLE,
    INTERNAL_PREFIX,
    V2_PREFIX,
    DbtPlatformApiClient,
    DbtPlatformApiSettings,
    is_truthy,
    platform_api_url,
)

__all__ = [
    "DBT_API_TOKEN_VARIABLE",
    "INTERNAL_PREFIX",
    "V2_PREFIX",
    "DbtPlatformApiClient",
    "DbtPlatformApiSettings",
    "is_truthy",
    "platform_api_url",
]
