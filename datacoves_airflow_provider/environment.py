"""What the Datacoves platform tells a worker through its environment, read at the point of use.

Nothing here runs at import time: DAG files are parsed on machines (CI, a laptop) where these
variables do not exist, and a parse must not fail for that.
"""

from __future__ import annotations

import os

__all__ = [
    "DEFAULT_VIRTUALENV",
    "InvalidSettingError",
    "MissingEnvironmentError",
    "default_virtualenv",
    "repo_path",
    "staging_base_dir",
]

#: The virtualenv Datacoves images ship; activated when it exists and no other is named.
DEFAULT_VIRTUALENV = "/opt/datacoves/virtualenvs/main"


class MissingEnvironmentError(RuntimeError):
    """A variable the platform normally sets is missing: the message says what to set."""


class InvalidSettingError(ValueError):
    """A ``[datacoves]`` setting has a value the provider cannot use: the message names it and the fix."""


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

    value = conf.get("datacoves", "default_virtualenv", fallback=DEFAULT_VIRTUALENV) or DEFAULT_VIRTUALENV
    if not os.path.isabs(value):
        # relative to what? the worker's current folder, which is not the repository copy
        raise InvalidSettingError(
            f"[datacoves] default_virtualenv (AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV) is {value!r}, "
            f"a relative path: set it to the virtualenv's absolute path, e.g. {DEFAULT_VIRTUALENV} "
            "(a task's own virtualenv parameter may be relative to the repository root)"
        )
    return value


def staging_base_dir() -> str | None:
    """Where private repository copies are created: ``[datacoves] staging_dir`` (default: system temp)."""
    from datacoves_airflow_provider.compat import conf

    return conf.get("datacoves", "staging_dir", fallback="") or None
