"""A short, log- and XCom-friendly summary of dbt's ``run_results.json``."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

__all__ = ["FAILED_STATUSES", "RunSummary", "format_summary", "read_run_summary"]

#: Node statuses that mean the node did not do its job: ``error`` (models, seeds, snapshots, and
#: tests that could not run), ``fail`` (tests whose assertion failed), ``runtime error`` (old dbt).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
#: How many of the slowest nodes the summary names.
SLOWEST = 5
#: How many failures the summary lists (the count is always complete).
MAX_FAILURES = 20
#: Longest failure message kept, in characters: the full text is in the task log above.
MAX_MESSAGE = 300

#: The summary's shape: ``command``, ``elapsed_seconds``, ``counts`` (status → nodes),
#: ``slowest`` (``node``, ``seconds``), ``failures`` (``node``, ``status``, ``message``),
#: ``failures_not_listed``.
RunSummary = dict[str, Any]


def _short(text: object) -> str:
    message = " ".join(str(text or "").split())
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def read_run_summary(path: Path, *, written_after: float | None = None) -> RunSummary | None:
    """Summarise the ``run_results.json`` at ``path``.

    Returns None when there is no such file, when it is older than ``written_after`` (a file left
    by an earlier command, not this one), or when it is not a dbt run-results file.

    :param path: the ``run_results.json`` file.
    :param written_after: a ``time.time()`` value; older files are ignored.
    """
    try:
        if written_after is not None and path.stat().st_mtime < written_after:
            return None
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        return None
    results = [r for r in data["results"] if isinstance(r, dict)]
    counts = Counter(str(r.get("status")) for r in results)
    timed = sorted(results, key=lambda r: float(r.get("execution_time") or 0), reverse=True)
    failures = [r for r in results if str(r.get("status")) in FAILED_STATUSES]
    args = data.get("args")
    args = args if isinstance(args, dict) else {}
    return {
        "command": str(args.get("which") or ""),
        "elapsed_seconds": round(float(data.get("elapsed_time") or 0), 2),
        "counts": dict(sorted(counts.items())),
        "slowest": [
            {"node": str(r.get("unique_id")), "seconds": round(float(r.get("execution_time") or 0), 2)}
            for r in timed[:SLOWEST]
        ],
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
