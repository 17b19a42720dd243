"""A documented import path: re-exports ``datacoves_airflow_provider.dbt.api_client``."""

from datacoves_airflow_provider.dbt.api_client import (
    CONNECT_TIMEOUT,
    MAX_JSON_BYTES,
    READ_TIMEOUT,
    RETRIES,
    RETRY_STATUSES,
    TRANSFER_BUDGET,
    DbtApiClient,
    DbtApiError,
    DbtApiTransport,
    tag_form,
    tag_params,
)

__all__ = [
    "CONNECT_TIMEOUT",
    "MAX_JSON_BYTES",
    "READ_TIMEOUT",
    "RETRIES",
    "RETRY_STATUSES",
    "TRANSFER_BUDGET",
    "DbtApiClient",
    "DbtApiError",
    "DbtApiTransport",
    "tag_form",
    "tag_params",
]
