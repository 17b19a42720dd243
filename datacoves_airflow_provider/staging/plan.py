"""The copy plan: one walk of the source decides, for every entry, how it reaches the copy (copied,
shared as a link, left out, or git's object store shared through *alternates*), and builds the
copy's own standalone ``.git`` folder, also from a linked worktree."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

from datacoves_airflow_provider.staging.paths import _display
from datacoves_airflow_provider.staging.policy import StagingPolicy

log = logging.getLogger(__name__)


_DBT_OUTPUT_DIRS = frozenset({"target", "logs"})


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
