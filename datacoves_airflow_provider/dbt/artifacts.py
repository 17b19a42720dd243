"""Moving a dbt task's artifacts to and from the artifact store, and what the ten parameters mean.

**Policy.** The store only ever *helps* a dbt task; it never decides its outcome:

- a download that fails (store down, permission denied) is logged as an error and the task goes
  on as if the file were absent, so a retry falls back to the full command rather than to stale
  or missing state;
- an upload that fails is logged as an error after dbt has run; dbt's exit code alone decides
  whether the task succeeds;
- uploads happen whether dbt succeeded or failed (a failed run's ``run_results.json`` is what a
  retry needs);
- a store that is *misconfigured* (an unknown ``[datacoves] dbt_artifact_store`` value, the API
  selected without its variables) fails the task before dbt runs: that is a deployment error no
  retry can fix, and silently running without the store would hide it.

**Where files go.** Static artifacts are downloaded into the project's target folder, where dbt
looks for them. ``run_results.json`` and ``sources.json`` are downloaded into the project's
``logs/`` folder, so ``dbt ... --state logs`` reads the previous try's results. Additional files are
paths relative to the dbt project folder, both ways.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.compat import redact
from datacoves_airflow_provider.dbt.artifact_store import SHARED_TAG, ArtifactKey, RunScope
from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

if TYPE_CHECKING:
    from datacoves_airflow_provider.dbt.artifact_store import ArtifactStore

__all__ = [
    "RUN_RESULTS",
    "SOURCES_JSON",
    "STATE_FOLDER",
    "STATIC_ARTIFACTS",
    "ArtifactOptions",
    "ArtifactTransfer",
    "reduce_expected_files",
]

#: dbt's static artifacts, shared by every task of the environment under the tag ``latest``.
STATIC_ARTIFACTS = ("graph_summary.json", "graph.gpickle", "partial_parse.msgpack", "semantic_manifest.json")
RUN_RESULTS = "run_results.json"
#: Where the project's latest manifest (the platform's ``latest-manifest`` route) is written.
LATEST_MANIFEST = "manifest.json"
SOURCES_JSON = "sources.json"
#: Where downloaded run results go: ``--state logs`` in the docs' retry command reads them there.
STATE_FOLDER = "logs"


def _check_bool(value: object, name: str, task_id: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidArgumentTypeError(f"Task {task_id!r}: {name} must be True or False, got {value!r}")
    return value


def _check_paths(value: object, name: str, task_id: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: {name} must be a list of paths relative to the dbt project, "
            f"e.g. ['target/manifest.json'], got {value!r}"
        )
    paths = []
    for item in value:
        if not isinstance(item, str) or not item.strip():
            raise InvalidArgumentTypeError(
                f"Task {task_id!r}: {name} holds {item!r}; each entry must be a non-empty path"
            )
        normal = os.path.normpath(item)
        if os.path.isabs(item) or normal == ".." or normal.startswith("../"):
            raise InvalidArgumentError(
                f"Task {task_id!r}: {name} entry {item!r} must stay inside the dbt project folder "
                "(a relative path without '..'), e.g. 'target/manifest.json'"
            )
        paths.append(normal)
    return tuple(paths)


@dataclass(frozen=True)
class ArtifactOptions:
    """The dbt operator's artifact parameters, checked when the DAG is parsed.

    :param enabled: ``dbt_api_enabled``: use the artifact store at all.
    :param download_static_artifacts: fetch the static artifacts (tag ``latest``) before dbt runs.
    :param upload_static_artifacts: upload them after dbt runs, tagged ``latest``.
    :param download_additional_files: more paths (relative to the project) to fetch.
    :param upload_additional_files: more paths (relative to the project) to upload.
    :param upload_tag: the label of this task's uploads (default: the DAG run id).
    :param upload_run_results: upload ``run_results.json``.
    :param download_run_results: fetch this task instance's ``run_results.json`` (a retry's state).
    :param upload_sources_json: upload ``sources.json``.
    :param download_sources_json: fetch this task instance's ``sources.json``.
    """

    enabled: bool = False
    download_static_artifacts: bool = True
    upload_static_artifacts: bool = False
    download_additional_files: tuple[str, ...] = ()
    upload_additional_files: tuple[str, ...] = ()
    upload_tag: str | None = None
    upload_run_results: bool = True
    download_run_results: bool = False
    upload_sources_json: bool = True
    download_sources_json: bool = False

    @classmethod
    def checked(
        cls,
        *,
        task_id: str,
        dbt_api_enabled: object = False,
        download_static_artifacts: object = True,
        upload_static_artifacts: object = False,
        download_additional_files: object = None,
        upload_additional_files: object = None,
        upload_tag: object = None,
        upload_run_results: object = True,
        download_run_results: object = False,
        upload_sources_json: object = True,
        download_sources_json: object = False,
    ) -> ArtifactOptions:
        """Check the parameters as the DAG author passed them; errors name the parameter and the fix.

        :param task_id: named in the messages.
        :param dbt_api_enabled: see the class.
        :param download_static_artifacts: see the class.
        :param upload_static_artifacts: see the class.
        :param download_additional_files: see the class.
        :param upload_additional_files: see the class.
        :param upload_tag: see the class.
        :param upload_run_results: see the class.
        :param download_run_results: see the class.
        :param upload_sources_json: see the class.
        :param download_sources_json: see the class.
        """
        flags = {
            "dbt_api_enabled": dbt_api_enabled,
            "download_static_artifacts": download_static_artifacts,
            "upload_static_artifacts": upload_static_artifacts,
            "upload_run_results": upload_run_results,
            "download_run_results": download_run_results,
            "upload_sources_json": upload_sources_json,
            "download_sources_json": download_sources_json,
        }
        for name, value in flags.items():
            _check_bool(value, name, task_id)
        if upload_tag is not None and (not isinstance(upload_tag, str) or not upload_tag.strip()):
            raise InvalidArgumentTypeError(
                f"Task {task_id!r}: upload_tag must be a non-empty string (it may be a template such as "
                f"'{{{{ ds }}}}'), or None for the DAG run id; got {upload_tag!r}"
            )
        options = cls(
            enabled=bool(dbt_api_enabled),
            download_static_artifacts=bool(download_static_artifacts),
            upload_static_artifacts=bool(upload_static_artifacts),
            download_additional_files=_check_paths(
                download_additional_files, "download_additional_files", task_id
            ),
            upload_additional_files=_check_paths(upload_additional_files, "upload_additional_files", task_id),
            upload_tag=upload_tag,
            upload_run_results=bool(upload_run_results),
            download_run_results=bool(download_run_results),
            upload_sources_json=bool(upload_sources_json),
            download_sources_json=bool(download_sources_json),
        )
        if not options.enabled:
            asked = [
                name
                for name, on in (
                    ("upload_static_artifacts=True", options.upload_static_artifacts),
                    ("download_run_results=True", options.download_run_results),
                    ("download_sources_json=True", options.download_sources_json),
                    ("download_additional_files", bool(options.download_additional_files)),
                    ("upload_additional_files", bool(options.upload_additional_files)),
                    ("upload_tag", options.upload_tag is not None),
                )
                if on
            ]
            if asked:
                raise InvalidArgumentError(
                    f"Task {task_id!r}: {', '.join(asked)} need the artifact store; "
                    "add dbt_api_enabled=True (or remove them)"
                )
        return options

    def downloaded_names(self) -> set[str]:
        """The names this task may download: what ``expected_files`` can refer to."""
        if not self.enabled:
            return set()
        names = set(STATIC_ARTIFACTS) if self.download_static_artifacts else set()
        if self.download_run_results:
            names.add(RUN_RESULTS)
        if self.download_sources_json:
            names.add(SOURCES_JSON)
        names.update(self.download_additional_files)
        return names


@dataclass
class ArtifactTransfer:
    """One task try's downloads (before dbt) and uploads (after dbt).

    :param options: the task's artifact parameters.
    :param store: the store.
    :param scope: the task instance, for run-scoped keys.
    :param upload_tag: the rendered ``upload_tag`` (default: the run id).
    :param project: the dbt project folder in the repository copy.
    :param target_dir: dbt's target folder (where it writes run_results.json).
    :param log: the task's logger.
    :param reason: why this store was chosen (a setting or a variable), for the log line.
    :param warning: a loud warning about the choice, logged once (a Datacoves worker without a dbt API).
    """

    options: ArtifactOptions
    store: ArtifactStore
    scope: RunScope
    upload_tag: str
    project: Path
    target_dir: Path
    log: Any  # the task's logger: logging.Logger on 2.x, structlog's on 3.x
    reason: str = ""
    warning: str | None = None
    failures: list[str] = field(default_factory=list)

    def _shared(self, name: str) -> ArtifactKey:
        return ArtifactKey(name=name, run=None, tag=SHARED_TAG)

    def _run_scoped(self, name: str) -> ArtifactKey:
        return ArtifactKey(name=name, run=self.scope, tag=self.upload_tag)

    # -- before dbt ----------------------------------------------------------------------------

    def download(self) -> list[str]:
        """Fetch what the options ask for; return the names found (for ``expected_files``)."""
        if self.reason:
            self.log.info("dbt artifact store: %s, chosen by %s", self.store.description, self.reason)
        else:
            self.log.info("dbt artifact store: %s", self.store.description)
        if self.warning:
            self.log.warning("%s", self.warning)
        plan: list[tuple[ArtifactKey, Path]] = []
        if self.options.download_static_artifacts:
            plan += [(self._shared(n), self.target_dir / n) for n in STATIC_ARTIFACTS]
        state = self.project / STATE_FOLDER
        if self.options.download_run_results:
            plan.append((self._run_scoped(RUN_RESULTS), state / RUN_RESULTS))
        if self.options.download_sources_json:
            plan.append((self._run_scoped(SOURCES_JSON), state / SOURCES_JSON))
        plan += [(self._run_scoped(p), self.project / p) for p in self.options.download_additional_files]
        found: list[str] = []
        for key, destination in plan:
            where = os.path.relpath(destination, self.project)
            try:
                present = self.store.download(key, destination)
            except Exception as exc:
                self._failed(f"download of {key.name}", exc, "the task goes on as if it were absent")
                continue
            if present:
                found.append(key.name)
                self.log.info("Downloaded %s (%s) to %s, %s", key.name, _kind(key), where, _size(destination))
            else:
                self.log.info("No %s (%s) in the store yet", key.name, _kind(key))
        if self.options.download_static_artifacts:
            self._download_latest_manifest()
        return found

    def _download_latest_manifest(self) -> None:
        """The project's latest manifest into the target folder, where the store offers it (the
        platform's ``latest-manifest`` route); a store without it, or a 404, is a debug line."""
        fetch = getattr(self.store, "download_latest_manifest", None)
        if fetch is None:
            self.log.debug("dbt artifact store: this store has no latest-manifest route; skipped")
            return
        destination = self.target_dir / LATEST_MANIFEST
        try:
            present = fetch(destination)
        except Exception as exc:
            self._failed("download of the project's latest manifest", exc, "the task goes on without it")
            return
        if present:
            where = os.path.relpath(destination, self.project)
            self.log.info("Downloaded the project's latest manifest to %s, %s", where, _size(destination))
        else:
            self.log.debug("dbt artifact store: no latest manifest for the project (404); skipped")

    # -- after dbt -----------------------------------------------------------------------------

    def upload(self, *, written_after: float) -> None:
        """Upload what the options ask for and dbt wrote during this try (stale files are skipped).

        :param written_after: when dbt started (a Unix time): older files are from an earlier run.
        """
        plan: list[tuple[ArtifactKey, Path, bool]] = []
        if self.options.upload_static_artifacts:
            plan += [(self._shared(n), self.target_dir / n, True) for n in STATIC_ARTIFACTS]
        if self.options.upload_run_results:
            plan.append((self._run_scoped(RUN_RESULTS), self.target_dir / RUN_RESULTS, True))
        if self.options.upload_sources_json:
            plan.append((self._run_scoped(SOURCES_JSON), self.target_dir / SOURCES_JSON, True))
        plan += [(self._run_scoped(p), self.project / p, False) for p in self.options.upload_additional_files]
        uploaded = 0
        for key, source, must_be_fresh in plan:
            try:
                info = source.stat()
            except OSError:
                info = None
            if info is None or (must_be_fresh and info.st_mtime < written_after):
                if not must_be_fresh:
                    self.log.warning("Not uploading %s: %s does not exist", key.name, source)
                continue
            if not stat.S_ISREG(info.st_mode):  # a FIFO would block the upload forever
                self.log.warning("Not uploading %s: %s is not a regular file", key.name, source)
                continue
            try:
                self.store.upload(key, source)
            except Exception as exc:
                self._failed(f"upload of {key.name}", exc, "dbt's own result stands")
                continue
            uploaded += 1
            self.log.info("Uploaded %s (%s, tag %r), %s", key.name, _kind(key), key.tag, _size(source))
        if self.failures:
            self.log.error(
                "dbt artifact store: %d transfer(s) failed (%s). The task's outcome is dbt's alone; "
                "a retry without the previous run results runs the full command.",
                len(self.failures),
                "; ".join(self.failures),
            )
        else:
            self.log.info("dbt artifact store: %d file(s) uploaded", uploaded)

    def _failed(self, what: str, exc: BaseException, consequence: str) -> None:
        message = str(redact(f"{type(exc).__name__}: {exc}"))
        self.failures.append(what)
        self.log.error("dbt artifact store: %s failed, %s: %s", what, consequence, message)


def reduce_expected_files(expected: Sequence[str], found: Sequence[str]) -> list[str]:
    """The entries of ``expected`` that were downloaded (matched by name or by file name).

    :param expected: the ``expected_files`` the DAG passed.
    :param found: the names downloaded for this try.
    """
    names = set(found) | {os.path.basename(f) for f in found}
    return [f for f in expected if f in names or os.path.normpath(f) in names]


def _kind(key: ArtifactKey) -> str:
    return "shared, tag latest" if key.run is None else "this task instance"


def _size(path: Path) -> str:
    try:
        size = path.stat().st_size
    except OSError:
        return "size unknown"
    return f"{size / 1024:.1f} KiB" if size >= 1024 else f"{size} bytes"
