"""What the Datacoves platform tells a worker through its environment, read at the point of use.

Nothing here runs at import time: DAG files are parsed on machines (CI, a laptop) where these
variables do not exist, and a parse must not fail for that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = [
    "DEFAULT_VIRTUALENV",
    "REPO_PATH",
    "REPO_PATH_RO",
    "InvalidSettingError",
    "MissingEnvironmentError",
    "RepositorySource",
    "default_virtualenv",
    "is_truthy",
    "repo_path",
    "repository_source",
    "staging_base_dir",
]

#: Where a task's read-write copy of the repository goes on Datacoves (``/tmp/airflow_repo``, which
#: need not exist); on a laptop or in CI, where the read-only clone variable is not set, the
#: repository checkout itself.
REPO_PATH = "DATACOVES__REPO_PATH"
#: The read-only git-sync clone of the repository on Datacoves (``/opt/airflow/dags/repo``).
REPO_PATH_RO = "DATACOVES__REPO_PATH_RO"

#: The virtualenv Datacoves images ship; activated when it exists and no other is named.
DEFAULT_VIRTUALENV = "/opt/datacoves/virtualenvs/main"

_TRUTHY = ("true", "1", "yes")


class MissingEnvironmentError(DatacovesError, RuntimeError):
    """A variable the platform normally sets is missing: the message says what to set."""


class InvalidSettingError(DatacovesError, ValueError):
    """A ``[datacoves]`` setting has a value the provider cannot use: the message names it and the fix."""


def is_truthy(value: object, *, connection_extra: bool = False) -> bool:
    """Whether a flag is on: ``true``, ``1`` or ``yes``, in any case, white space around ignored.

    The two kinds of flag differ here only: a platform variable (``DATACOVES__UPLOAD_MANIFEST``,
    ...) is text, and ``on`` is not on; an Airflow connection extra (``connection_extra=True``: the
    dbt profiles' ``iam``, ``is_serverless``, ``service_principal_oauth``, ``insecure_mode``) may also
    be JSON ``true``, or ``on``. Any other value that is not text is off.

    :param value: the variable's value (None when unset), or the extra's.
    :param connection_extra: read ``value`` as a connection extra.
    """
    if connection_extra and value is True:
        return True
    if not isinstance(value, str):
        return False
    return value.strip().lower() in ((*_TRUTHY, "on") if connection_extra else _TRUTHY)


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


@dataclass(frozen=True)
class RepositorySource:
    """The repository a task copies, and the roots a path from the environment may lie in.

    :param path: the folder that is staged: ``DATACOVES__REPO_PATH_RO`` when set, else
        ``DATACOVES__REPO_PATH``.
    :param variable: the variable ``path`` came from, as messages name it.
    :param read_only_clone: ``DATACOVES__REPO_PATH_RO``, or None when it is not set.
    :param read_write_path: ``DATACOVES__REPO_PATH``, or None when it is not set.
    """

    path: str
    variable: str
    read_only_clone: str | None
    read_write_path: str | None

    def roots(self) -> list[tuple[str, str]]:
        """Every folder that stands for the repository root, with its variable: the read-only
        clone and the read-write path (a path inside either means the same place in the copy)."""
        found = [(REPO_PATH_RO, self.read_only_clone), (REPO_PATH, self.read_write_path)]
        return [(name, value) for name, value in found if value]

    def relative_path(self, path: str) -> str | None:
        """``path`` relative to the repository root, or None when it lies outside the repository.

        A relative ``path`` is relative to the root already (None when it climbs out with ``..``);
        an absolute one is placed in whichever root holds it (the deepest, when the roots nest),
        first as written, then with links resolved (git-sync's clone is a link to its worktree).

        :param path: the path as the environment gives it.
        """
        if not os.path.isabs(path):
            norm = os.path.normpath(path)
            return None if norm == os.pardir or norm.startswith(os.pardir + os.sep) else norm
        for resolve in (os.path.normpath, os.path.realpath):
            target = resolve(path)
            holders = [resolve(root) for _, root in self.roots() if _within(target, resolve(root))]
            if holders:
                return os.path.relpath(target, max(holders, key=len))
        return None

    def describe_roots(self) -> str:
        """Both root variables with their values, for messages (``DATACOVES__REPO_PATH_RO='/x'
        nor DATACOVES__REPO_PATH (not set)``)."""

        def one(name: str, value: str | None) -> str:
            return f"{name}={value!r}" if value else f"{name} (not set)"

        return f"{one(REPO_PATH_RO, self.read_only_clone)} nor {one(REPO_PATH, self.read_write_path)}"


def repository_source(*, check: bool = True) -> RepositorySource:
    """The repository a task stages: ``DATACOVES__REPO_PATH_RO`` (Datacoves' read-only git-sync
    clone) when it is set and not empty, else ``DATACOVES__REPO_PATH`` (a laptop's or CI's checkout).

    On Datacoves ``DATACOVES__REPO_PATH`` names where a task's read-write copy would go
    (``/tmp/airflow_repo``, which need not exist); the provider never writes there: each task gets
    its own private copy, and its command sees ``DATACOVES__REPO_PATH`` pointing at that copy.

    :param check: also check the folder is there and readable (a
        :class:`~datacoves_airflow_provider.staging.repository.RepositorySourceError` naming the
        variable otherwise).
    :raises MissingEnvironmentError: neither variable is set.
    """
    read_only = os.environ.get(REPO_PATH_RO, "").strip() or None
    read_write = os.environ.get(REPO_PATH, "").strip() or None
    if read_only is None and read_write is None:
        raise MissingEnvironmentError(
            f"{REPO_PATH} is not set (nor {REPO_PATH_RO}): set {REPO_PATH} on the worker to the "
            "folder of your repository checkout, e.g. export DATACOVES__REPO_PATH=/path/to/your/repo "
            f"(on Datacoves the platform sets {REPO_PATH_RO} to its read-only clone, "
            "/opt/airflow/dags/repo)"
        )
    source = RepositorySource(
        path=read_only or read_write or "",
        variable=REPO_PATH_RO if read_only else REPO_PATH,
        read_only_clone=read_only,
        read_write_path=read_write,
    )
    if check:
        _check_readable_folder(source)
    return source


def _check_readable_folder(source: RepositorySource) -> None:
    from datacoves_airflow_provider.staging.repository import RepositorySourceError

    if source.variable == REPO_PATH_RO:
        fix = (
            f"{REPO_PATH_RO} must name the read-only git-sync clone of the repository (on Datacoves "
            "/opt/airflow/dags/repo: check that git-sync has cloned it), or, off the platform, "
            f"unset it and set {REPO_PATH} to your repository checkout"
        )
    else:
        fix = (
            f"set {REPO_PATH} to your repository checkout (or, on Datacoves, {REPO_PATH_RO} to the "
            "read-only clone)"
        )
    where = f"The repository folder {source.variable}={source.path!r}"
    if not os.path.isdir(source.path):
        state = "does not exist" if not os.path.lexists(source.path) else "is not a folder"
        raise RepositorySourceError(f"{where} {state}: {fix}")
    if not os.access(source.path, os.R_OK | os.X_OK):
        raise RepositorySourceError(
            f"{where} is not readable by the worker's user (uid {os.getuid()}): give that user read "
            f"access, or {fix}"
        )


def repo_path() -> str:
    """The repository folder a task copies (see :func:`repository_source`)."""
    return repository_source(check=False).path


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
