"""A documented import path: re-exports ``datacoves_airflow_provider.dbt.profiles``."""

from datacoves_airflow_provider.dbt.profiles import (
    DEFAULT_PROFILE_NAME,
    DEFAULT_TARGET_NAME,
    DEFAULT_THREADS,
    SECRET_FIELDS,
    SUPPORTED_CONNECTION_TYPES,
    DbtProfileError,
    WrittenProfile,
    build_target,
    check_overrides,
    mask_secret_fields,
    parse_overrides_text,
    profile_document,
    write_connection_profile,
    write_profile,
)

__all__ = [
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_TARGET_NAME",
    "DEFAULT_THREADS",
    "SECRET_FIELDS",
    "SUPPORTED_CONNECTION_TYPES",
    "DbtProfileError",
    "WrittenProfile",
    "build_target",
    "check_overrides",
    "mask_secret_fields",
    "parse_overrides_text",
    "profile_document",
    "write_connection_profile",
    "write_profile",
]
