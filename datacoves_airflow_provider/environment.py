"""What the Datacoves platform tells a worker through its environment, read at the point of use.

Nothing here runs at import time: DAG files are parsed on machines (CI, a laptop) where these
variables do not exist, and a parse must not fail for that.
"""

from __future__ import annotations

import os

__all__ = [
    "DEFAULT_VIRTUALENV",
    "MissingEnvironmentError",
    "default_virtualenv",
    "repo_path",
    "staging_base_dir",
]

#: The virtualenv Datacoves images ship; activated when it exists and no other is named.
DEFAULT_VIRTUALENV = "/opt/datacoves/virtualenvs/main"


class MissingEnvironmentError(RuntimeError):
    """A variable the platform normally sets is missing: the message says what to set."""


def repo_path() -> str:
    """The repository checkout the task works on (``DATACOVES__REPO_PATH``)."""
    value = os.environ.get("DATACOVES__REPO_PATH", "").strip()
    if not value:
        raise MissingEnvironmentError(
            "DATACOVES__REPO_PATH is not set: set it on the worker to the folder of your repository "
            "checkout (Datacoves sets it to /opt/airflow/dags/repo), e.g. "
            "export DATACOVES__REPO_PATH=/path/to/your/repo"
        )
    return value


def default_virtualenv() -> str:
    """The virtualenv activated when a task names none: ``[datacoves] default_virtualenv``."""
    from datacoves_airflow_provider.compat import conf

    return conf.get("datacoves", "default_virtualenv", fallback=DEFAULT_VIRTUALENV) or DEFAULT_VIRTUALENV


def staging_base_dir() -> str | None:
    """Where private repository copies are created: ``[datacoves] staging_dir`` (default: system temp)."""
    from datacoves_airflow_provider.compat import conf

    return conf.get("datacoves", "staging_dir", fallback="") or None
