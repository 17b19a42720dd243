"""Removing staging folders: a task's own when it ends, and those of processes that died without
cleaning up (swept by the next task on the same worker)."""

from __future__ import annotations

import logging
import os
import shutil
import stat
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.staging.paths import _display, is_within

log = logging.getLogger(__name__)

#: Name prefix of every staging folder, so leftovers are recognisable.
STAGING_PREFIX = "datacoves-stage"


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _remove_tree(path: Path) -> None:
    """Remove ``path`` even when the command left read-only files or folders behind.

    Nothing outside ``path`` is ever changed (no chmod of the folder that holds it), and a link
    named ``path`` is removed as a link, never followed.
    """
    top = os.fspath(path)

    def make_writable_and_retry(func: Any, target: str, _exc: Any) -> None:
        parent = os.path.dirname(target)
        try:
            if target != top and is_within(parent, top):
                os.chmod(parent, stat.S_IRWXU)
            if is_within(target, top) and stat.S_ISDIR(os.lstat(target).st_mode):
                os.chmod(target, stat.S_IRWXU)
            func(target)
        except FileNotFoundError:
            pass

    try:
        mode = os.lstat(top).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(mode):
        os.unlink(top)
        return
    shutil.rmtree(top, onerror=make_writable_and_retry)  # onexc is 3.12+


def _sweep_stale(base: Path) -> None:
    """Remove staging folders of processes of this PID namespace that died without cleaning up.

    A task killed with SIGKILL cannot remove its folder; the next task on the same worker does.
    Folders of other PID namespaces (other containers sharing the disk) are never touched, and
    neither is anything that is not a real folder owned by this worker's user (a link, a file, a
    folder of another user that only looks like ours): those are logged and left alone.
    """
    prefix = f"{STAGING_PREFIX}-{_pid_namespace()}-"
    uid = os.getuid()
    try:
        entries = list(os.scandir(base))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        pid_text = entry.name[len(prefix) :].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
            continue  # alive
        except ProcessLookupError:
            pass
        except PermissionError:
            continue  # alive, owned by someone else
        try:
            info = os.lstat(entry.path)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode):
            log.warning(
                "Not removing %s: it is named like a staging folder but is not a folder (a link or "
                "a file); remove it by hand if it is yours",
                _display(entry.path),
            )
            continue
        if info.st_uid != uid:
            log.warning(
                "Not removing %s: it is named like a staging folder but is owned by uid %s, not by "
                "this worker's uid %s",
                _display(entry.path),
                info.st_uid,
                uid,
            )
            continue
        log.info(
            "Removing staging folder %s left by process %s, which is gone", _display(entry.path), pid_text
        )
        _remove_tree(Path(entry.path))
