"""Stage the repository into a private, writable place for one task.

In Datacoves the repository (``DATACOVES__REPO_PATH``) is a read-only git-sync checkout, so a task
that must write (dbt's ``target/``, a script's output file) gets its own copy. A plain recursive
copy of a real analytics repository is slow: most of its bytes are git history, virtualenvs and the
outputs of earlier dbt runs. :class:`StagingPolicy` says what is copied, what is shared read-only
and what is left out; the defaults keep everything a command can read, reads the same:

* the working tree is copied (writable, owner-only);
* ``.git`` is copied without its object store, which is shared through git's own *alternates*
  mechanism (objects are immutable and content-addressed, so every git command, reading or
  writing, works in the copy and never changes the source);
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
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["StagedRepository", "StagingError", "StagingPolicy", "stage_repository"]

log = logging.getLogger(__name__)

#: Name prefix of every staging folder, so leftovers are recognisable.
STAGING_PREFIX = "datacoves-stage"
_COPY_THREADS = max(2, min(4, os.cpu_count() or 2))
_DBT_OUTPUT_DIRS = frozenset({"target", "logs"})


class StagingError(RuntimeError):
    """The repository could not be staged: the message says which path and why."""


def _check_patterns(name: str, patterns: Sequence[str]) -> tuple[str, ...]:
    if isinstance(patterns, str) or not all(isinstance(p, str) and p.strip() for p in patterns):
        raise ValueError(
            f"StagingPolicy.{name} must be a list of non-empty path patterns relative to the "
            f"repository root, e.g. ['data/raw', '**/node_modules']; got {patterns!r}"
        )
    cleaned = []
    for pattern in patterns:
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
        every file and folder) that are left out of the copy.
    :param share: extra paths (same patterns) that are symlinked to the source instead of copied.
        Shared paths are read-only by contract: in Datacoves the source is mounted read-only, and a
        write through the link would change the source where it is not.
    """

    share_git_objects: bool = True
    share_virtualenvs: bool = True
    copy_dbt_outputs: bool = False
    exclude: Sequence[str] = field(default_factory=tuple)
    share: Sequence[str] = field(default_factory=tuple)

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
        return _matches(rel, self.exclude)

    def shares(self, rel: str) -> bool:
        """Whether ``rel`` (a path relative to the repository root) matches a ``share`` pattern.

        :param rel: the path, with ``/`` separators.
        """
        return _matches(rel, self.share)


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


def _remove_tree(path: Path) -> None:
    """Remove ``path`` even when the command left read-only files or folders behind."""

    def make_writable_and_retry(func: Any, target: str, _exc: Any) -> None:
        parent = os.path.dirname(target)
        try:
            os.chmod(parent, stat.S_IRWXU)
            if not os.path.islink(target) and os.path.isdir(target):
                os.chmod(target, stat.S_IRWXU)
            func(target)
        except FileNotFoundError:
            pass

    if path.exists() or path.is_symlink():
        shutil.rmtree(path, onerror=make_writable_and_retry)  # onexc is 3.12+


def _sweep_stale(base: Path) -> None:
    """Remove staging folders of processes of this PID namespace that died without cleaning up.

    A task killed with SIGKILL cannot remove its folder; the next task on the same worker does.
    Folders of other PID namespaces (other containers sharing the disk) are never touched.
    """
    prefix = f"{STAGING_PREFIX}-{_pid_namespace()}-"
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
        except ProcessLookupError:
            log.info("Removing staging folder %s left by process %s, which is gone", entry.path, pid_text)
            _remove_tree(Path(entry.path))
        except PermissionError:
            continue  # alive, owned by someone else


@dataclass
class _Node:
    """One entry of the copy plan."""

    src: str
    kind: str  # "copy" (file or clean subtree), "dir", "link", "skip", "alternates"
    files: int = 1
    children: list[_Node] = field(default_factory=list)


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
            if policy.excludes(child_rel):
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
            target = os.path.join(dst, os.path.basename(child.src))
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


def _exclude_shared_from_git(repo: Path, shared: list[str]) -> None:
    """Keep ``git status`` in the copy as it is in the source: shared folders became symlinks,
    which ``.gitignore`` patterns written for folders (``.venv/``) no longer match."""
    info = repo / ".git" / "info"
    links = [rel for rel in shared if not rel.startswith(".git/")]
    if not links or not (repo / ".git").is_dir():
        return
    info.mkdir(exist_ok=True)
    with open(info / "exclude", "a") as fh:
        fh.write("\n# shared read-only by datacoves staging\n")
        fh.writelines(f"/{rel}\n" for rel in links)


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
    base = Path(base_dir) if base_dir else Path(tempfile.gettempdir())
    try:
        base.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StagingError(f"Cannot create the staging base folder {str(base)!r}: {exc}") from exc
    _sweep_stale(base)
    root = Path(tempfile.mkdtemp(prefix=f"{STAGING_PREFIX}-{_pid_namespace()}-{os.getpid()}-", dir=base))
    try:
        staged = StagedRepository(root=root, repo=root / "repo", scratch=root / "scratch", source=src)
        staged.scratch.mkdir(mode=0o700)
        try:
            planner = _Planner(policy)
            plan = planner.plan_dir(str(src.resolve()), "")
            _materialise(plan, str(staged.repo), threads=_COPY_THREADS)
            _exclude_shared_from_git(staged.repo, planner.shared)
        except OSError as exc:
            if exc.errno == errno.ENOSPC:
                raise StagingError(f"No space left in {str(base)!r} to stage {str(src)!r}") from exc
            raise StagingError(f"Could not stage {str(src)!r} into {str(root)!r}: {exc}") from exc
        log.info(
            "Staged %s into %s (shared read-only: %s; left out: %s)",
            src,
            staged.repo,
            ", ".join(planner.shared) or "nothing",
            ", ".join(planner.skipped) or "nothing",
        )
        yield staged
    finally:
        _remove_tree(root)
