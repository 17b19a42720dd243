"""A documented import path: re-exports ``datacoves_airflow_provider.staging.repository``."""

from datacoves_airflow_provider.staging.repository import (
    STAGING_DIR_SETTING,
    STAGING_PREFIX,
    RepositorySourceError,
    StagedRepository,
    StagingError,
    StagingPolicy,
    is_within,
    log,
    prepare_staging_base,
    stage_repository,
)

__all__ = [
    "STAGING_DIR_SETTING",
    "STAGING_PREFIX",
    "RepositorySourceError",
    "StagedRepository",
    "StagingError",
    "StagingPolicy",
    "is_within",
    "log",
    "prepare_staging_base",
    "stage_repository",
]
