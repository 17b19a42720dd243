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
import fnmatch
import functools
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from datacoves_airflow_provider.environment import MissingEnvironmentError
from datacoves_airflow_provider.exceptions import DatacovesError

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

#: Name prefix of every staging folder, so leftovers are recognisable.
STAGING_PREFIX = "datacoves-stage"
_COPY_THREADS = max(2, min(4, os.cpu_count() or 2))
_DBT_OUTPUT_DIRS = frozenset({"target", "logs"})


class StagingError(DatacovesError, RuntimeError):
    """The repository could not be staged: the message says which path and why."""


class RepositorySourceError(StagingError, MissingEnvironmentError):
    """The repository folder the environment names (``DATACOVES__REPO_PATH_RO`` or
    ``DATACOVES__REPO_PATH``) is missing, not a folder or unreadable: the message names the variable."""


def _check_patterns(name: str, patterns: Sequence[str | bytes]) -> tuple[str, ...]:
    """The patterns as text. A pattern may be bytes, for a file name that is not UTF-8 (Linux
    file names are bytes): it is decoded as Python decodes file names (``os.fsdecode``)."""
    if isinstance(patterns, (str, bytes)) or not all(
        isinstance(p, (str, bytes)) and p.strip() for p in patterns
    ):
        raise ValueError(
            f"StagingPolicy.{name} must be a list of non-empty path patterns relative to the "
            f"repository root, e.g. ['data/raw', '**/node_modules']; got {patterns!r}"
        )
    cleaned = []
    for pattern in map(os.fsdecode, patterns):
        if "\0" in pattern:
            raise ValueError(
                f"StagingPolicy.{name} pattern {pattern!r} contains a NUL character, which no file "
                "name can hold: remove it"
            )
        norm = pattern.strip().strip("/")
        if os.path.isabs(pattern) or norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
            raise ValueError(
                f"StagingPolicy.{name} pattern {pattern!r} must stay inside the repository: "
                "use a path relative to the repository root without '..'"
            )
        cleaned.append(norm)
    return tuple(cleaned)


def _matches(rel: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, p) or fnmatch.fnmatchcase(rel, f"**/{p}") for p in patterns)


@dataclass(frozen=True)
class StagingPolicy:
    """What a task's private copy of the repository contains.

    :param share_git_objects: copy ``.git`` without its object store and point the copy at the
        source's objects through ``objects/info/alternates``. When False, ``.git`` is copied whole.
    :param share_virtualenvs: symlink folders that contain ``pyvenv.cfg`` instead of copying them.
    :param copy_dbt_outputs: also copy ``target/`` and ``logs/`` found beside a ``dbt_project.yml``.
    :param exclude: extra paths (glob patterns relative to the repository root, matched against
        every file and folder) that are left out of the copy. A pattern may be bytes, to name a
        file whose name is not UTF-8 (``b"data/caf\\xe9"``).
    :param share: extra paths (same patterns) that are symlinked to the source instead of copied.
        Shared paths are read-only by contract: in Datacoves the source is mounted read-only, and a
        write through the link would change the source where it is not.
    """

    share_git_objects: bool = True
    share_virtualenvs: bool = True
    copy_dbt_outputs: bool = False
    exclude: Sequence[str | bytes] = field(default_factory=tuple)
    share: Sequence[str | bytes] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        object.__setattr__(self, "exclude", _check_patterns("exclude", self.exclude))
        object.__setattr__(self, "share", _check_patterns("share", self.share))

    @classmethod
    def full_copy(cls) -> StagingPolicy:
        """Copy everything, as ``cp -r`` would (slowest; nothing shared, nothing left out)."""
        return cls(share_git_objects=False, share_virtualenvs=False, copy_dbt_outputs=True)

    @classmethod
    def coerce(cls, value: StagingPolicy | Mapping[str, Any] | None) -> StagingPolicy:
        """Accept a policy, a dict of its fields (as YAML-generated DAGs pass it) or None (defaults).

        :param value: what the task was given as ``staging``.
        """
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            known = set(cls.__dataclass_fields__)
            unknown = sorted(set(value) - known)
            if unknown:
                raise ValueError(f"staging has unknown keys {unknown}; the keys it takes are {sorted(known)}")
            return cls(**value)
        raise TypeError(
            f"staging must be a StagingPolicy or a dict of its fields, got {type(value).__name__}"
        )

    def excludes(self, rel: str) -> bool:
        """Whether ``rel`` (a path relative to the repository root) matches an ``exclude`` pattern.

        :param rel: the path, with ``/`` separators.
        """
        return _matches(rel, cast("tuple[str, ...]", self.exclude))

    def shares(self, rel: str) -> bool:
        """Whether ``rel`` (a path relative to the repository root) matches a ``share`` pattern.

        :param rel: the path, with ``/`` separators.
        """
        return _matches(rel, cast("tuple[str, ...]", self.share))


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


def _pid_namespace() -> str:
    try:
        return str(os.stat("/proc/self/ns/pid").st_ino)
    except OSError:
        return "0"


def _display(name: str) -> str:
    """``name`` as it can be logged: a non-UTF-8 file name (bytes Python decoded with
    surrogateescape) shows its odd bytes as ``\\xNN``."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def is_within(target: str, top: str) -> bool:
    """Whether the path ``target`` is ``top`` or lies below it (both as given: resolve links first
    where they matter).

    :param target: the path to place.
    :param top: the folder.
    """
    return target == top or target.startswith(top + os.sep)


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


@dataclass
class _Node:
    """One entry of the copy plan."""

    src: str
    kind: str  # "copy" (file or clean subtree), "dir", "link", "skip", "alternates"
    files: int = 1
    children: list[_Node] = field(default_factory=list)
    #: the name in the copy, when it is not the source's (a worktree's git folder becomes ``.git``)
    name: str = ""

    @property
    def dest_name(self) -> str:
        return self.name or os.path.basename(self.src)


#: What a linked worktree's git folder takes from the main repository's git folder (git's
#: ``common_list`` in path.c); everything else in it belongs to the worktree.
_GIT_COMMON = frozenset(
    {
        "branches",
        "common",
        "config",
        "hooks",
        "info",
        "logs",
        "lost-found",
        "objects",
        "packed-refs",
        "refs",
        "remotes",
        "rr-cache",
        "shallow",
        "svn",
    }
)
#: Paths below the common entries that belong to each worktree, not to the main repository.
_GIT_PER_WORKTREE = frozenset(
    {
        "info/sparse-checkout",
        "logs/HEAD",
        "logs/refs/bisect",
        "logs/refs/rewritten",
        "logs/refs/worktree",
        "refs/bisect",
        "refs/rewritten",
        "refs/worktree",
    }
)
#: A worktree's links back to its main repository, and the main repository's list of worktrees:
#: never in the copy, whose git folder stands alone.
_GIT_LINKS = frozenset({"commondir", "gitdir", "locked", "worktrees", "gc.pid"})


def _prune(node: _Node, drop: set[str], prefix: str = "") -> None:
    """Remove the entries whose path below ``node`` (``a/b``) is in ``drop``."""
    kept = []
    for child in node.children:
        rel = f"{prefix}{child.dest_name}"
        if rel in drop:
            node.kind = "dir"
            node.files -= child.files
            continue
        if any(path.startswith(rel + "/") for path in drop) and child.children:
            _prune(child, drop, rel + "/")
            if child.kind != "copy":
                node.kind = "dir"
        kept.append(child)
    node.children = kept


def _merge(into: _Node, other: _Node) -> None:
    """Add ``other``'s entries to ``into``; folders present in both are merged, ``other`` wins
    for everything else."""
    by_name = {child.dest_name: child for child in into.children}
    for child in other.children:
        mine = by_name.get(child.dest_name)
        if mine is not None and mine.kind in ("copy", "dir") and mine.children and child.children:
            _merge(mine, child)
            mine.kind = "dir"
            continue
        if mine is not None:
            into.children.remove(mine)
            into.files -= mine.files
        into.children.append(child)
        into.files += child.files
    into.kind = "dir"


def _read_gitdir_file(path: str) -> str | None:
    """The git folder a ``.git`` file names (``gitdir: <path>``, relative to the file's folder)."""
    try:
        with open(path, "rb") as fh:
            text = fh.read(65536)
    except OSError:
        return None
    line = text.splitlines()[0] if text else b""
    if not line.startswith(b"gitdir:"):
        return None
    target = os.fsdecode(line[len(b"gitdir:") :].strip())
    return os.path.realpath(os.path.join(os.path.dirname(path), target))


class _Planner:
    """Walks the source once and decides, for every entry, how it reaches the copy."""

    def __init__(self, policy: StagingPolicy) -> None:
        self.policy = policy
        self.shared: list[str] = []
        self.skipped: list[str] = []

    def plan_dir(self, src: str, rel: str) -> _Node:
        policy = self.policy
        with os.scandir(src) as it:
            entries = sorted(it, key=lambda e: e.name)
        is_dbt_project = any(e.name == "dbt_project.yml" for e in entries)
        node = _Node(src, "copy", files=0)
        for entry in entries:
            child_rel = f"{rel}/{entry.name}" if rel else entry.name
            kind = "copy"
            if not rel and entry.name == ".git" and not (policy.excludes(".git") or policy.shares(".git")):
                git_node = self.plan_git(entry.path)
                if git_node is not None:
                    node.children.append(git_node)
                    node.files += git_node.files
                    node.kind = "dir"
                    continue
                kind = "skip"
            elif policy.excludes(child_rel):
                kind = "skip"
            elif policy.shares(child_rel):
                kind = "link"
            elif entry.is_dir(follow_symlinks=False):
                if is_dbt_project and entry.name in _DBT_OUTPUT_DIRS and not policy.copy_dbt_outputs:
                    kind = "skip"
                elif policy.share_virtualenvs and os.path.isfile(os.path.join(entry.path, "pyvenv.cfg")):
                    kind = "link"
                elif rel == ".git" and entry.name == "objects" and policy.share_git_objects:
                    kind = "alternates"
                else:
                    child = self.plan_dir(entry.path, child_rel)
                    node.children.append(child)
                    node.files += child.files
                    if child.kind != "copy":
                        node.kind = "dir"
                    continue
            if kind == "skip":
                self.skipped.append(child_rel)
            elif kind in ("link", "alternates"):
                self.shared.append(child_rel)
            if kind != "copy":
                node.kind = "dir"
            node.children.append(_Node(entry.path, kind))
            node.files += 1
        return node

    def plan_git(self, path: str) -> _Node | None:
        """The copy's own ``.git`` folder, whatever the source's ``.git`` is.

        * a folder (a plain clone): copied, without the list of linked worktrees;
        * a file ``gitdir: <main>/.git/worktrees/<name>`` (a linked worktree, as git-sync lays out
          its checkouts): the main repository's shared parts (config, refs, hooks, ...) and the
          worktree's own (HEAD, index, ...) are combined into one standalone git folder;
        * a link to either: followed.

        The object store is shared through ``objects/info/alternates`` (or copied, with
        ``share_git_objects=False``); nothing in the copy points back at the source's git folder,
        so no git command in the copy can change it. Returns None when ``path`` names no git folder.

        :param path: the source's ``.git``.
        """
        real = os.path.realpath(path)
        if os.path.isdir(real):
            common, private = real, None
        else:
            private = _read_gitdir_file(real)
            if private is None or not os.path.isdir(private):
                log.warning("Leaving %s out of the copy: it names no git folder", _display(path))
                return None
            try:
                with open(os.path.join(private, "commondir"), "rb") as fh:
                    common_text = os.fsdecode(fh.read().strip())
            except FileNotFoundError:
                common, private = private, None  # a separate git folder, not a worktree's
            else:
                common = os.path.realpath(os.path.join(private, common_text))
        node = self.plan_dir(common, ".git")
        node.name = ".git"
        if private is None:
            _prune(node, set(_GIT_LINKS))
        else:
            node.children = [c for c in node.children if c.dest_name in _GIT_COMMON]
            _prune(node, set(_GIT_PER_WORKTREE))
            own = self.plan_dir(private, ".git")
            _prune(own, set(_GIT_LINKS))
            _merge(node, own)
        node.kind = "dir"
        node.files = max(node.files, 1)
        return node


@functools.cache
def _gnu_cp() -> str | None:
    """Path of GNU cp, which copies a batch of trees in one process (much faster than Python)."""
    path = shutil.which("cp")
    if not path:
        return None
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return path if "GNU coreutils" in out.stdout else None


def _copy_batch(dst_dir: str, sources: list[str]) -> None:
    """Copy files and whole trees into ``dst_dir``, keeping symlinks as symlinks."""
    cp = _gnu_cp()
    if cp:
        for start in range(0, len(sources), 500):
            chunk = sources[start : start + 500]
            proc = subprocess.run([cp, "-R", "-t", dst_dir, "--", *chunk], capture_output=True, text=True)
            if proc.returncode != 0:
                raise OSError(f"copying into {dst_dir} failed: {proc.stderr.strip()}")
        return
    for src in sources:  # portable fallback
        dst = os.path.join(dst_dir, os.path.basename(src))
        if os.path.isdir(src) and not os.path.islink(src):
            shutil.copytree(src, dst, symlinks=True)
        else:
            shutil.copy(src, dst, follow_symlinks=False)


def _make_writable(path: str) -> None:
    """Give the owner write access everywhere in the copy (the source may be read-only files)."""
    chmod = shutil.which("chmod")
    if chmod and _gnu_cp():
        subprocess.run([chmod, "-R", "u+rwX", "--", path], check=True, capture_output=True)
        return
    for dirpath, dirnames, filenames in os.walk(path):
        for name in dirnames + filenames:
            full = os.path.join(dirpath, name)
            if not os.path.islink(full):
                os.chmod(full, os.stat(full).st_mode | stat.S_IRUSR | stat.S_IWUSR)


def _materialise(plan: _Node, dest: str, *, threads: int) -> None:
    """Create folders, links and alternates inline; copy files and clean subtrees on threads."""
    total = max(plan.files, 1)
    batches: list[tuple[int, str, str]] = []  # (weight, destination folder, source)

    def walk(node: _Node, dst: str) -> None:
        os.mkdir(dst, (os.stat(node.src).st_mode & 0o7777) | stat.S_IRWXU)
        for child in node.children:
            target = os.path.join(dst, child.dest_name)
            if child.kind == "dir" or (
                child.kind == "copy" and child.children and child.files * threads * 2 > total
            ):
                walk(child, target)  # split large subtrees so the copy threads stay balanced
            elif child.kind == "copy":
                batches.append((child.files, dst, child.src))
            elif child.kind == "link":
                os.symlink(child.src, target)
            elif child.kind == "alternates":
                os.makedirs(os.path.join(target, "info"), mode=0o700)
                os.makedirs(os.path.join(target, "pack"), mode=0o700)
                with open(os.path.join(target, "info", "alternates"), "w") as fh:
                    fh.write(os.path.realpath(child.src) + "\n")

    walk(plan, dest)
    bins: list[list[tuple[str, str]]] = [[] for _ in range(threads)]
    loads = [0] * threads
    for weight, dst, src in sorted(batches, reverse=True):
        i = loads.index(min(loads))
        loads[i] += weight
        bins[i].append((dst, src))

    def run_bin(items: list[tuple[str, str]]) -> None:
        by_dst: dict[str, list[str]] = {}
        for dst, src in items:
            by_dst.setdefault(dst, []).append(src)
        for dst, sources in by_dst.items():
            _copy_batch(dst, sources)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="datacoves-stage") as pool:
        for future in [pool.submit(run_bin, b) for b in bins if b]:
            future.result()
    _make_writable(dest)


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
