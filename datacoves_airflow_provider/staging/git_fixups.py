"""The copy's git, made to behave as the source's and to stand alone: shared folders kept out of
``git status``, and settings that would tie it to the source removed."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path


def _gitignore_pattern(rel: str) -> bytes:
    """An anchored ``.git/info/exclude`` line that matches exactly ``rel``, whatever its bytes."""
    escaped = bytearray(b"/")
    for byte in os.fsencode(rel):
        if byte in b"*?[]\\!#":
            escaped += b"\\"
        escaped.append(byte)
    if escaped.endswith(b" "):
        escaped[-1:] = b"\\ "
    return bytes(escaped) + b"\n"


def _exclude_shared_from_git(repo: Path, shared: list[str]) -> None:
    """Keep ``git status`` in the copy as it is in the source: shared folders became symlinks,
    which ``.gitignore`` patterns written for folders (``.venv/``) no longer match."""
    info = repo / ".git" / "info"
    links = [rel for rel in shared if not rel.startswith(".git/")]
    if not links or not (repo / ".git").is_dir():
        return
    info.mkdir(exist_ok=True)
    with open(info / "exclude", "ab") as fh:  # file names are bytes: a non-UTF-8 one is kept as it is
        fh.write(b"\n# shared read-only by datacoves staging\n")
        fh.writelines(_gitignore_pattern(rel) for rel in links)


#: Lines of a git configuration that set ``worktree`` / a true ``bare`` (most configurations say
#: ``bare = false``: no git process is started for them).
_CORE_WORKTREE = re.compile(rb"(?im)^\s*worktree\s*=")
_CORE_BARE = re.compile(rb"(?im)^\s*bare\s*=\s*(true|yes|on|1)\s*$")


def _make_git_standalone(repo: Path) -> None:
    """Settings copied from the source that would tie the copy's git to something else: a
    ``core.worktree`` points git at the source's working tree, and ``core.bare`` (which linked
    worktrees of a bare repository ignore) would make the copy's working tree invisible to git.
    Both are removed from the copy's own configuration."""
    git = shutil.which("git")
    for name in ("config", "config.worktree"):
        config = repo / ".git" / name
        try:
            text = config.read_bytes()
        except OSError:
            continue
        for key, setting in (("core.worktree", _CORE_WORKTREE), ("core.bare", _CORE_BARE)):
            if git and setting.search(text):
                subprocess.run(
                    [git, "config", "--file", str(config), "--unset-all", key],
                    capture_output=True,
                    check=False,  # exit 5: it was not set
                )
