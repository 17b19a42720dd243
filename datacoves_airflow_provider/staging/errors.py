"""The errors of repository staging."""

from __future__ import annotations

from datacoves_airflow_provider.environment import MissingEnvironmentError
from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["RepositorySourceError", "StagingError"]


class StagingError(DatacovesError, RuntimeError):
    """The repository could not be staged: the message says which path and why."""


class RepositorySourceError(StagingError, MissingEnvironmentError):
    """The repository folder the environment names (``DATACOVES__REPO_PATH_RO`` or
    ``DATACOVES__REPO_PATH``) is missing, not a folder or unreadable: the message names the variable."""
