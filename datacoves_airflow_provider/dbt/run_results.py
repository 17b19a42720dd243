"""A short, log- and XCom-friendly summary of dbt's ``run_results.json``."""

from __future__ import annotations

import json
import math
import os
import stat
from collections import Counter
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["FAILED_STATUSES", "MAX_RUN_RESULTS_BYTES", "RunSummary", "format_summary", "read_run_summary"]

#: Node statuses that mean the node did not do its job: ``error`` (models, seeds, snapshots, and
#: tests that could not run), ``fail`` (tests whose assertion failed), ``runtime error`` (old dbt).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
#: How many of the slowest nodes the summary names.
SLOWEST = 5
#: How many failures the summary lists (the count is always complete).
MAX_FAILURES = 20
#: Longest failure message kept, in characters: the full text is in the task log above.
MAX_MESSAGE = 300
#: Largest run_results.json summarised, in bytes; a larger one is left alone (with a warning).
MAX_RUN_RESULTS_BYTES = 100 * 1024 * 1024

#: The summary's shape: ``command``, ``elapsed_seconds``, ``counts`` (status → nodes),
#: ``slowest`` (``node``, ``seconds``), ``failures`` (``node``, ``status``, ``message``),
#: ``failures_not_listed``.
RunSummary = dict[str, Any]


class _Unsummarisable(DatacovesError):
    """The file is there but cannot be summarised; the message says why, in a few words."""


def _short(text: object) -> str:
    message = " ".join(str(text or "").split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _seconds(value: object, what: str) -> float:
    """A duration from the file: a finite number (or nothing, 0).

    :param value: the value in the file.
    :param what: the field, for the reason.
    """
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Unsummarisable(f"{what} is {type(value).__name__}, not a number of seconds")
    if not math.isfinite(value):
        raise _Unsummarisable(f"{what} is {value}, not a number of seconds")
    return float(value)


def _load(path: Path, info: os.stat_result) -> Any:
    """The file's JSON, read without following links, without blocking and at most
    :data:`MAX_RUN_RESULTS_BYTES` (a FIFO, socket or device in its place is never opened).

    :param path: the file.
    :param info: its ``lstat``.
    """
    if not stat.S_ISREG(info.st_mode):
        raise _Unsummarisable("it is not a regular file")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _Unsummarisable(f"it cannot be opened ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):  # replaced since the lstat
            raise _Unsummarisable("it is not a regular file")
        raw = handle.read(MAX_RUN_RESULTS_BYTES + 1)
    if len(raw) > MAX_RUN_RESULTS_BYTES:
        raise _Unsummarisable(f"it is larger than {MAX_RUN_RESULTS_BYTES // 2**20} MiB")
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _Unsummarisable("it is not valid UTF-8") from None
    except RecursionError:
        raise _Unsummarisable("it is nested too deeply") from None
    except ValueError:
        raise _Unsummarisable("it is not valid JSON") from None


def _summarise(data: Any) -> RunSummary:
    """The summary of a parsed run_results.json.

    :param data: the file's JSON.
    """
    if not isinstance(data, dict):
        raise _Unsummarisable(f"its top level is a JSON {_json_type(data)}, not an object")
    if not isinstance(data.get("results"), list):
        raise _Unsummarisable("it has no 'results' list")
    results = [r for r in data["results"] if isinstance(r, dict)]
    times = [_seconds(r.get("execution_time"), "a node's execution_time") for r in results]
    elapsed = _seconds(data.get("elapsed_time"), "elapsed_time")
    counts = Counter(str(r.get("status")) for r in results)
    timed = sorted(zip(times, results, strict=True), key=lambda item: item[0], reverse=True)
    failures = [r for r in results if str(r.get("status")) in FAILED_STATUSES]
    args = data.get("args")
    args = args if isinstance(args, dict) else {}
    return {
        "command": str(args.get("which") or ""),
        "elapsed_seconds": round(elapsed, 2),
        "counts": dict(sorted(counts.items())),
        "slowest": [{"node": str(r.get("unique_id")), "seconds": round(t, 2)} for t, r in timed[:SLOWEST]],
        "failures": [
            {
                "node": str(r.get("unique_id")),
                "status": str(r.get("status")),
                "message": _short(r.get("message")),
            }
            for r in failures[:MAX_FAILURES]
        ],
        "failures_not_listed": max(0, len(failures) - MAX_FAILURES),
    }


def _json_type(value: object) -> str:
    names = {list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


def read_run_summary(path: Path, *, written_after: float | None = None, log: Any = None) -> RunSummary | None:
    """Summarise the ``run_results.json`` at ``path``.

    Returns None when there is no such file, when it is older than ``written_after`` (a file left
    by an earlier command, not this one), or when it cannot be summarised: not a regular file
    (a FIFO or socket is never opened), larger than :data:`MAX_RUN_RESULTS_BYTES`, not UTF-8 JSON,
    or not shaped like dbt's run results. In that last case one warning says why on ``log``.

    :param path: the ``run_results.json`` file.
    :param written_after: a ``time.time()`` value; older files are ignored.
    :param log: the task's logger, for the warning (None: no warning).
    """
    try:
        info = os.lstat(path)
    except OSError:
        return None
    try:
        if stat.S_ISREG(info.st_mode) and written_after is not None and info.st_mtime < written_after:
            return None
        return _summarise(_load(path, info))
    except (_Unsummarisable, RecursionError, MemoryError) as exc:
        reason = {RecursionError: "it is nested too deeply", MemoryError: "it is too large to read"}.get(
            type(exc), str(exc)
        )
        if log is not None:
            log.warning(
                "dbt's run results %s could not be summarised: %s. The task's outcome is dbt's exit code; "
                "no summary is logged or returned.",
                path,
                reason,
            )
        return None


def format_summary(summary: RunSummary) -> str:
    """The summary as a few readable log lines.

    :param summary: a summary from :func:`read_run_summary`.
    """
    counts = ", ".join(f"{n} {status}" for status, n in summary["counts"].items()) or "no nodes"
    lines = [f"dbt {summary['command'] or 'run'} finished in {summary['elapsed_seconds']}s: {counts}"]
    if summary["slowest"]:
        lines.append("Slowest: " + ", ".join(f"{s['node']} ({s['seconds']}s)" for s in summary["slowest"]))
    for failure in summary["failures"]:
        lines.append(f"  {failure['status'].upper()}: {failure['node']}: {failure['message']}")
    if summary["failures_not_listed"]:
        lines.append(f"  ... and {summary['failures_not_listed']} more failures (see the log above)")
    return "\n".join(lines)
