"""The staging base folder, the folder private staging folders are created in, and its checks."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from datacoves_airflow_provider.staging.errors import StagingError

__all__ = ["prepare_staging_base"]


#: The setting that chooses the staging base folder, as error messages name it.
STAGING_DIR_SETTING = "[datacoves] staging_dir (AIRFLOW__DATACOVES__STAGING_DIR)"


def _unsafe_folder(info: os.stat_result) -> bool:
    """Whether users other than this worker's can rename entries of a folder: writable by others,
    or by a group that is not the worker's own, without the sticky bit."""
    if info.st_mode & stat.S_ISVTX:
        return False
    return bool(info.st_mode & stat.S_IWOTH) or bool(
        info.st_mode & stat.S_IWGRP and info.st_gid != os.getgid()
    )


def prepare_staging_base(base_dir: str | os.PathLike[str] | None) -> Path:
    """The folder private staging folders are created in, checked: created when missing, owned
    by this worker's user (or root), not open to renames by other users, writable.

    Another user who could rename the task's private folder could replace it with a copy of their
    own (say, a ``profiles.yml`` pointing dbt at their host) between staging and running.

    :param base_dir: ``[datacoves] staging_dir``, or None for the system temp folder.
    :returns: the folder, with links resolved.
    """
    base = Path(base_dir) if base_dir else Path(tempfile.gettempdir())
    if not base.is_absolute():
        raise StagingError(
            f"{STAGING_DIR_SETTING} is {str(base)!r}, a relative path: set it to an absolute folder, "
            "e.g. /var/tmp/datacoves"
        )
    fix = f"{STAGING_DIR_SETTING} must name a folder the worker's user owns, e.g. /var/tmp/datacoves"
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StagingError(
            f"Cannot create the staging base folder {str(base)!r} ({exc.strerror}): create it for "
            f"the worker's user; {fix}"
        ) from None
    real = Path(os.path.realpath(base))
    uid = os.getuid()
    info = os.stat(real)
    if not stat.S_ISDIR(info.st_mode):
        raise StagingError(f"The staging base folder {str(base)!r} is not a folder: {fix}")
    if info.st_uid not in (uid, 0):
        raise StagingError(
            f"The staging base folder {str(base)!r} is owned by uid {info.st_uid}, not by the worker's "
            f"user (uid {uid}) or root, so that user could replace a task's private copy: {fix}"
        )
    for folder in (real, *real.parents):
        if _unsafe_folder(folder.stat() if folder != real else info):
            where = "is" if folder == real else f"is inside {str(folder)!r}, which is"
            raise StagingError(
                f"The staging base folder {str(base)!r} {where} writable by other users without the "
                f"sticky bit, so they could replace a task's private copy (chmod go-w or +t fixes "
                f"that): {fix}"
            )
    if not os.access(real, os.W_OK | os.X_OK):
        raise StagingError(
            f"The staging base folder {str(base)!r} is not writable by the worker's user: {fix}"
        )
    return real
