"""What one try of a dbt task does with the files dbt reads and writes: the artifact store's
transfers around the command, the manifest upload after it, and the run-results summary and
failure message the task reports.

Nothing here decides whether dbt runs; only a misconfigured artifact store fails the task (before
dbt runs, see :mod:`~datacoves_airflow_provider.dbt.artifacts`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from datacoves_airflow_provider.compat import AirflowException, redact
from datacoves_airflow_provider.dbt.artifacts import ArtifactOptions, ArtifactTransfer
from datacoves_airflow_provider.dbt.partial_parse import format_reparse_reason
from datacoves_airflow_provider.dbt.run_results import FAILED_STATUSES, format_summary, read_run_summary

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Context
    from datacoves_airflow_provider.dbt.partial_parse import PartialParseCheck

__all__ = ["artifact_transfer", "failure_message", "report_run", "send_manifest"]


def artifact_transfer(
    options: ArtifactOptions,
    *,
    upload_tag: object,
    project: Path,
    target_dir: Path,
    context: Context,
    log: Any,
) -> ArtifactTransfer | None:
    """This try's artifact transfers, or None without ``dbt_api_enabled``. A misconfigured
    store fails here, before dbt runs (see :mod:`~datacoves_airflow_provider.dbt.artifacts`).

    :param options: the task's artifact parameters.
    :param upload_tag: the rendered ``upload_tag`` (blank or None: the DAG run id).
    :param project: the dbt project folder.
    :param target_dir: dbt's target folder (where it writes run_results.json).
    :param context: the task context.
    :param log: the task's logger.
    """
    if not options.enabled:
        return None
    from datacoves_airflow_provider.dbt.artifact_store import (
        ArtifactStoreConfigError,
        RunScope,
        choose_artifact_store,
    )

    try:
        choice = choose_artifact_store()
    except ArtifactStoreConfigError as exc:
        raise AirflowException(
            f"dbt_api_enabled=True, but the artifact store is misconfigured: {exc}"
        ) from None
    ti = context["ti"]
    run_id = str(context["run_id"])
    scope = RunScope(
        dag_id=ti.dag_id, run_id=run_id, task_id=ti.task_id, map_index=getattr(ti, "map_index", -1)
    )
    tag = upload_tag.strip() if isinstance(upload_tag, str) and upload_tag.strip() else run_id
    return ArtifactTransfer(
        options=options,
        store=choice.store,
        scope=scope,
        upload_tag=tag,
        project=project,
        target_dir=target_dir,
        log=log,
        reason=choice.reason,
        warning=choice.warning,
    )


def send_manifest(manifest: Path, *, written_after: float, run_id: str, dag_id: str, log: Any) -> None:
    """Upload the manifest dbt wrote during this try when ``DATACOVES__UPLOAD_MANIFEST`` asks for
    it. Never raises: a failure is a warning.

    :param manifest: where dbt writes manifest.json.
    :param written_after: when dbt started (a Unix time): an older file is not this try's.
    :param run_id: the DAG run id.
    :param dag_id: the DAG id.
    :param log: the task's logger.
    """
    from datacoves_airflow_provider.dbt.manifest_upload import upload_manifest, upload_manifest_enabled

    if not upload_manifest_enabled():
        return
    try:
        fresh = manifest.stat().st_mtime >= written_after
    except OSError:
        fresh = False
    if not fresh:
        log.info("No manifest upload: dbt wrote no %s during this try", manifest.name)
        return
    upload_manifest(manifest, run_id=run_id, dag_id=dag_id, log=log)


def report_run(
    run_results: Path,
    parse_check: PartialParseCheck | None,
    *,
    written_after: float,
    env: Mapping[str, str],
    log: Any,
) -> dict[str, Any] | None:
    """Log the summary of the run_results.json dbt wrote during this try, and why dbt parsed
    everything again when it refused the downloaded partial_parse.msgpack; return the summary
    (with ``full_reparse_reason`` then), or None when dbt wrote no run results. Both are masked.

    :param run_results: where dbt writes run_results.json.
    :param parse_check: the check of the downloaded partial_parse.msgpack, if one was downloaded.
    :param written_after: when dbt started (a Unix time): an older file is not this try's.
    :param env: the command's environment (the profile and target dbt was given).
    :param log: the task's logger.
    """
    summary = read_run_summary(run_results, written_after=written_after, log=log)
    reparse = (
        parse_check.explain(
            written_after=written_after, profile=env.get("DBT_PROFILE"), target=env.get("DBT_TARGET")
        )
        if parse_check is not None
        else []
    )
    if reparse:
        reparse = cast("list[str]", redact(reparse))
        log.warning("%s", format_reparse_reason(reparse))
    if summary is not None:
        summary = cast("dict[str, Any]", redact(summary))  # dbt's messages could quote a secret
        if reparse:
            summary["full_reparse_reason"] = reparse
        log.info("%s", format_summary(summary))
    return summary


def failure_message(exit_code: int, summary: dict[str, Any] | None) -> str:
    """The exception message for a failed dbt command: the failing nodes when dbt named them.

    :param exit_code: dbt's exit code.
    :param summary: the run-results summary, if dbt wrote one.
    """
    failures = [f for f in (summary or {}).get("failures", []) if f["status"] in FAILED_STATUSES]
    if not failures:
        return f"dbt failed with exit code {exit_code}; see the dbt output above"
    nodes = ", ".join(f"{f['node']} ({f['status']})" for f in failures)
    more = summary["failures_not_listed"] if summary else 0
    return f"dbt failed with exit code {exit_code}: {nodes}" + (f" and {more} more" if more else "")
