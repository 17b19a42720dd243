""":class:`StagingPolicy`: what a task's private copy of the repository contains (copied, shared
read-only, left out), and the checks of its path patterns."""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = ["StagingPolicy"]


def _check_patterns(name: str, patterns: Sequence[str | bytes]) -> tuple[str, ...]:
    """The patterns as text. A pattern may be bytes, for a file name that is not UTF-8 (Linux
    file names are bytes): it is decoded as Python decodes file names (``os.fsdecode``)."""
    if isinstance(patterns, (str, bytes)) or not all(
        isinstance(p, (str, bytes)) and p.strip() for p in patterns
    ):
        raise InvalidArgumentError(
            f"StagingPolicy.{name} must be a list of non-empty path patterns relative to the "
            f"repository root, e.g. ['data/raw', '**/node_modules']; got {patterns!r}"
        )
    cleaned = []
    for pattern in map(os.fsdecode, patterns):
        if "\0" in pattern:
            raise InvalidArgumentError(
                f"StagingPolicy.{name} pattern {pattern!r} contains a NUL character, which no file "
                "name can hold: remove it"
            )
        norm = pattern.strip().strip("/")
        if os.path.isabs(pattern) or norm == ".." or norm.startswith("../") or "/../" in f"/{norm}/":
            raise InvalidArgumentError(
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
                raise InvalidArgumentError(
                    f"staging has unknown keys {unknown}; the keys it takes are {sorted(known)}"
                )
            return cls(**value)
        raise InvalidArgumentTypeError(
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
