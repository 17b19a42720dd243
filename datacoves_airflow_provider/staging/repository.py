"""Stage the repository into a private, writable place for one task.

In Datacoves the repository (``DATACOVES__REPO_PATH_RO``) is a read-only git-sync clone, so a task
that must write (dbt's ``target/``, a script's output file) gets its own copy. A plain recursive
copy of a real analytics repository is slow: most of its bytes are git history, virtualenvs and the
outputs of earlier dbt runs. :class:`StagingPolicy` says what is copied, what is shared read-only
and what is left out; the defaults keep everything a command can read, reads the same:

* the working tree is copied (writable, owner-only);
* ``.git`` becomes the copy's own git folder, also when the source is a linked worktree (as
  git-sync lays out its checkouts, ``.git`` being a file that names the main repository): it is
  copied without its object store, which is shared through git's own *alternates* mechanism
  (objects are immutable and content-addressed, so every git command, reading or writing, works
  in the copy and never changes the source);
* a virtualenv inside the repository (a folder with ``pyvenv.cfg``) is shared as a symlink: a
  copied virtualenv would still run the original, whose absolute paths are in its scripts;
* the outputs of earlier dbt runs (``target/`` and ``logs/`` beside a ``dbt_project.yml``) are left
  out: dbt rewrites them on every command, a git-sync checkout does not carry them, and the
  artifact store is the way to bring state from an earlier run.

Each of these is a switch on :class:`StagingPolicy`, and ``exclude`` / ``share`` add paths of your
own. ``StagingPolicy.full_copy()`` copies everything, as ``cp -r`` would.
"""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from datacoves_airflow_provider.staging.base_folder import STAGING_DIR_SETTING, prepare_staging_base
from datacoves_airflow_provider.staging.cleanup import (
    STAGING_PREFIX,
    _pid_namespace,
    _remove_tree,
    _sweep_stale,
)
from datacoves_airflow_provider.staging.errors import RepositorySourceError, StagingError
from datacoves_airflow_provider.staging.git_fixups import _exclude_shared_from_git, _make_git_standalone
from datacoves_airflow_provider.staging.materialise import _COPY_THREADS, _materialise
from datacoves_airflow_provider.staging.paths import _display, is_within
from datacoves_airflow_provider.staging.plan import _Planner
from datacoves_airflow_provider.staging.policy import StagingPolicy

__all__ = [
    "RepositorySourceError",
    "StagedRepository",
    "StagingError",
    "StagingPolicy",
    "is_within",
    "prepare_staging_base",
    "stage_repository",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StagedRepository:
    """A task's private staging folder.

    :param root: the private folder (mode 0700); everything below it is removed with the task.
    :param repo: the copy of the repository, below ``root``.
    :param scratch: a private folder for the operator's own files (scripts, profiles), outside the
        copy so they never show up in the repository.
    :param source: the repository that was copied.
    """

    root: Path
    repo: Path
    scratch: Path
    source: Path


@contextmanager
def stage_repository(
    source: str | os.PathLike[str],
    *,
    policy: StagingPolicy | None = None,
    base_dir: str | os.PathLike[str] | None = None,
) -> Iterator[StagedRepository]:
    """Copy ``source`` into a new private folder, yield it, and remove it afterwards.

    The folder is removed whatever happens inside the ``with`` block: success, an exception, or
    ``AirflowTaskTimeout`` / ``KeyboardInterrupt`` (both are ``BaseException``).

    :param source: the repository to stage (read-only is fine).
    :param policy: what to copy, share and leave out; defaults to :class:`StagingPolicy()`.
    :param base_dir: where the private folder is created; defaults to the system temp folder.
    """
    policy = policy or StagingPolicy()
    src = Path(source)
    if not src.is_dir():
        raise StagingError(
            f"The repository folder {str(src)!r} does not exist or is not a folder: "
            "set DATACOVES__REPO_PATH to your repository checkout"
        )
    base = prepare_staging_base(base_dir)
    _sweep_stale(base)
    try:
        root = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}-{_pid_namespace()}-{os.getpid()}-", dir=base))
    except OSError as exc:
        raise StagingError(
            f"Cannot create a staging folder in {str(base)!r} ({exc.strerror}): {STAGING_DIR_SETTING} "
            "must name a folder the worker's user can write"
        ) from None
    try:
        staged = StagedRepository(root=root, repo=root / "repo", scratch=root / "scratch", source=src)
        staged.scratch.mkdir(mode=0o700)
        try:
            planner = _Planner(policy)
            plan = planner.plan_dir(str(src.resolve()), "")
            _materialise(plan, str(staged.repo), threads=_COPY_THREADS)
            _exclude_shared_from_git(staged.repo, planner.shared)
            _make_git_standalone(staged.repo)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StagingError(f"No space left in {str(base)!r} to stage {str(src)!r}") from exc
            raise StagingError(f"Could not stage {str(src)!r} into {str(root)!r}: {exc}") from exc
        log.info(
            "Staged %s into %s (shared read-only: %s; left out: %s)",
            src,
            staged.repo,
            ", ".join(map(_display, planner.shared)) or "nothing",
            ", ".join(map(_display, planner.skipped)) or "nothing",
        )
        yield staged
    finally:
        _remove_tree(root)
