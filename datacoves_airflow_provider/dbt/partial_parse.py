"""Why dbt parsed the whole project although the task downloaded a ``partial_parse.msgpack``.

dbt (``dbt/parser/manifest.py``, ``ManifestLoader.is_partial_parsable``) refuses a saved
``partial_parse.msgpack`` when any of these differ from the run that wrote it, in this order:

1. ``metadata.dbt_version``: checked first; a mismatch stops the other checks;
2. ``state_check.vars_hash``: sha256 of ``--vars`` (as dbt pretty-prints them), the profile name
   and the target name *as passed* (``--profile``/``DBT_PROFILE``, ``--target``/``DBT_TARGET``;
   empty when the profile's default target is used) and the dbt version;
3. ``state_check.profile_hash``: sha256 of the selected target's connection fields
   (``credentials.connection_info()``: host, database, schema, user... never the password);
4. ``state_check.project_env_vars_hash``: sha256 of the ``env_var()`` values read in dbt_project.yml;
5. ``state_check.project_hashes``: sha256 of each project's dbt_project.yml (the root project, each
   installed package, dbt's own global project and the adapter's): a project that is new here, or
   whose file changed, fails the check.

dbt names the failed check at info level without the two sides (and only in some outputs), so
after dbt ran, the task compares the downloaded file with the one dbt just wrote (dbt writes a new
one after every full parse, with this run's version and state) and says which check failed and
what to change. Nothing is said when dbt did not write a new file (the saved one was used as it
was) or when both files pass every check (a partial parse that only re-read changed files).

**Reading the files.** ``msgpack`` is in dbt's virtualenv, not in Airflow's, so this module reads
the msgpack format itself (:mod:`~datacoves_airflow_provider.dbt.msgpack_reader`): it walks the
manifest's top-level map, skipping every value except ``metadata`` and ``state_check`` (a skip only
reads lengths, so a large manifest costs little), and decodes those two small maps.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.dbt.msgpack_reader import MsgpackReader, UnreadableParseState

__all__ = [
    "PARTIAL_PARSE_FILE",
    "ParseState",
    "PartialParseCheck",
    "UnreadableParseState",
    "explain_full_reparse",
    "format_reparse_reason",
    "read_parse_state",
]

PARTIAL_PARSE_FILE = "partial_parse.msgpack"
#: Largest partial_parse.msgpack read, in bytes: a larger one is not diagnosed.
MAX_MSGPACK_BYTES = 1024 * 1024 * 1024
#: The name of dbt's own global project in ``project_hashes``.
DBT_GLOBAL_PROJECT = "dbt"


@dataclass(frozen=True)
class ParseState:
    """What dbt compares before it reuses a partial_parse.msgpack (hashes as ``name:checksum``).

    :param dbt_version: the dbt version that wrote the file.
    :param project_name: the root project's name.
    :param adapter_type: the adapter (``duckdb``, ``snowflake``...).
    :param vars_hash: ``--vars``, profile name, target name and dbt version.
    :param profile_hash: the selected target's connection fields.
    :param project_env_vars_hash: the env_var() values read in dbt_project.yml.
    :param project_hashes: each project's dbt_project.yml, by project name.
    """

    dbt_version: str | None
    project_name: str | None = None
    adapter_type: str | None = None
    vars_hash: str | None = None
    profile_hash: str | None = None
    project_env_vars_hash: str | None = None
    project_hashes: dict[str, str] = field(default_factory=dict)


def _file_hash(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    return f"{value.get('name')}:{value.get('checksum')}"


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def read_parse_state(path: Path) -> ParseState:
    """The dbt version and state checks stored in a ``partial_parse.msgpack``.

    :param path: the file.
    :raises UnreadableParseState: the file is missing, too large or not a dbt manifest.
    """
    try:
        size = os.stat(path).st_size
        if size > MAX_MSGPACK_BYTES:
            raise UnreadableParseState(f"it is larger than {MAX_MSGPACK_BYTES // 2**20} MiB")
        data = path.read_bytes()
    except OSError as exc:
        raise UnreadableParseState(f"it cannot be read ({exc.strerror})") from None
    reader = MsgpackReader(data)
    wanted: dict[str, Any] = {}
    for _ in range(reader.map_size()):
        key = reader.decode()
        if key in ("metadata", "state_check"):
            wanted[key] = reader.decode()
            if len(wanted) == 2:
                break
        else:
            reader.skip()
    metadata, check = wanted.get("metadata"), wanted.get("state_check")
    if not isinstance(metadata, dict) or not isinstance(check, dict):
        raise UnreadableParseState("it has no metadata or no state_check: it is not a dbt manifest")
    projects = check.get("project_hashes")
    return ParseState(
        dbt_version=_text(metadata.get("dbt_version")),
        project_name=_text(metadata.get("project_name")),
        adapter_type=_text(metadata.get("adapter_type")),
        vars_hash=_file_hash(check.get("vars_hash")),
        profile_hash=_file_hash(check.get("profile_hash")),
        project_env_vars_hash=_file_hash(check.get("project_env_vars_hash")),
        project_hashes={
            str(name): _file_hash(value) or ""
            for name, value in (projects.items() if isinstance(projects, dict) else ())
        },
    )


def _names(names: list[str]) -> str:
    return ", ".join(repr(n) for n in sorted(names))


def _project_line(name: str, state: ParseState) -> str:
    """What a changed dbt_project.yml of project ``name`` means, and what to change."""
    if name == state.project_name:
        return (
            f"dbt_project.yml of the root project {name!r} differs from the one the artifact was "
            "parsed with: after changing it, upload a new artifact (a task with "
            "upload_static_artifacts=True that runs the changed project)"
        )
    if name == DBT_GLOBAL_PROJECT or (state.adapter_type and name == f"dbt_{state.adapter_type}"):
        return (
            f"dbt_project.yml of dbt's internal project {name!r} differs: another dbt-core or adapter "
            "version wrote the artifact; install the same dbt and adapter versions on both workers"
        )
    return (
        f"dbt_project.yml of package {name!r} differs: another version of the package is installed "
        "here; pin the same version (packages.yml, package-lock.yml) for both tasks and run dbt deps"
    )


def _state_lines(saved: ParseState, current: ParseState, *, with_vars: bool, selected: str) -> list[str]:
    """The checks after the version check that fail, in dbt's order.

    :param saved: the downloaded file's state.
    :param current: this run's state.
    :param with_vars: compare the vars hash (it holds the dbt version, so not across versions).
    :param selected: what this task passed for the profile and target, for the vars line.
    """
    lines = []
    if with_vars and saved.vars_hash != current.vars_hash:
        lines.append(
            "vars hash differs: the profile name, the target name or --vars are not those of the run "
            f"that wrote the artifact{selected}; pass the same --profile, --target and --vars as the "
            "task that uploads it (naming the default target counts as a change too)"
        )
    if saved.profile_hash != current.profile_hash:
        lines.append(
            "profile hash differs: the selected target's connection fields (host, database, schema, "
            "user, warehouse, role... not the password) are not the writer's; use the same connection, "
            "target and overrides as the task that uploads the artifact"
        )
    if saved.project_env_vars_hash != current.project_env_vars_hash:
        lines.append(
            "project env vars hash differs: a variable read with env_var() in dbt_project.yml has "
            "another value than when the artifact was written; give it the same value in both tasks"
        )
    added = [name for name in current.project_hashes if name not in saved.project_hashes]
    if added:
        lines.append(
            f"project(s) {_names(added)} are installed here but were not when the artifact was "
            "written; install the same packages (dbt deps) in the task that uploads it"
        )
    for name, checksum in sorted(current.project_hashes.items()):
        if name in saved.project_hashes and saved.project_hashes[name] != checksum:
            lines.append(_project_line(name, current))
    return lines


def explain_full_reparse(
    saved: ParseState, current: ParseState, *, profile: str | None = None, target: str | None = None
) -> list[str]:
    """Why dbt refused ``saved``: one line per failed check, with the fix; [] when none failed.

    :param saved: the state in the downloaded partial_parse.msgpack.
    :param current: the state in the one this run wrote.
    :param profile: the profile name this task passed to dbt (``DBT_PROFILE``), if known.
    :param target: the target name this task passed to dbt (``DBT_TARGET``), if known.
    """
    given = [f"{what} {value!r}" for what, value in (("profile", profile), ("target", target)) if value]
    selected = f" (this task passes {', '.join(given)})" if given else ""
    if saved.dbt_version != current.dbt_version:
        lines = [
            f"dbt version: the artifact was written by dbt {saved.dbt_version or 'unknown'}, this worker "
            f"runs dbt {current.dbt_version or 'unknown'}; dbt checks this first and then ignores the "
            f"file: upload partial_parse.msgpack from a task whose dbt is {current.dbt_version}, or run "
            f"dbt {saved.dbt_version} here"
        ]
        hidden = _state_lines(saved, current, with_vars=False, selected=selected)
        lines += [f"then also (hidden by the version check): {line}" for line in hidden]
        return lines
    return _state_lines(saved, current, with_vars=True, selected=selected)


def format_reparse_reason(reasons: list[str]) -> str:
    """The log block for :func:`explain_full_reparse`'s lines.

    :param reasons: the lines.
    """
    return "\n".join(
        [
            "dbt parsed the whole project again: it refused the downloaded partial_parse.msgpack because",
            *(f"  - {reason}" for reason in reasons),
        ]
    )


class PartialParseCheck:
    """Keep the downloaded partial_parse.msgpack aside before dbt runs, and explain afterwards why
    dbt refused it. Nothing here ever fails the task: any problem is a debug message.

    :param target_dir: dbt's target folder, where the file was downloaded and dbt writes its own.
    :param keep: a private file to copy the downloaded one to (dbt overwrites it in place).
    :param log: the task's logger.
    """

    def __init__(self, target_dir: Path, keep: Path, log: Any) -> None:
        self.current = target_dir / PARTIAL_PARSE_FILE
        self.saved = keep
        self.log = log
        self.kept = False
        try:
            shutil.copyfile(self.current, keep)
            self.kept = True
        except Exception as exc:  # never a reason to fail the task
            log.debug("Not diagnosing partial parsing: the downloaded file cannot be copied (%s)", exc)

    def explain(
        self, *, written_after: float, profile: str | None = None, target: str | None = None
    ) -> list[str]:
        """The reasons dbt parsed everything again ([] when it did not, or when that cannot be told).

        :param written_after: when dbt started (a Unix time): an older file was not written by dbt.
        :param profile: the profile name this task passed to dbt, if any.
        :param target: the target name this task passed to dbt, if any.
        """
        if not self.kept:
            return []
        try:
            try:
                if self.current.stat().st_mtime < written_after:
                    return []  # dbt reused the downloaded file as it was
            except OSError:
                return []  # dbt stopped before parsing, or removed it
            reasons = explain_full_reparse(
                read_parse_state(self.saved), read_parse_state(self.current), profile=profile, target=target
            )
        except Exception as exc:
            self.log.debug("Could not tell why dbt did not partially parse: %s: %s", type(exc).__name__, exc)
            return []
        finally:
            self.saved.unlink(missing_ok=True)
        return reasons
