"""The run_results.json summary: limits, stale files, and the failure message built from it."""

from __future__ import annotations

import json
import os
import time

from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator
from datacoves_airflow_provider.operators.dbt_run_results import format_summary, read_run_summary


def write_results(path, statuses):
    results = [
        {"unique_id": f"model.p.m{i}", "status": s, "execution_time": i / 10, "message": "x" * 1000}
        for i, s in enumerate(statuses)
    ]
    path.write_text(json.dumps({"args": {"which": "build"}, "elapsed_time": 12.345, "results": results}))


def test_counts_slowest_and_failure_limits(tmp_path):
    path = tmp_path / "run_results.json"
    write_results(path, ["success"] * 3 + ["error"] * 25 + ["fail", "warn", "skipped"])
    summary = read_run_summary(path)
    assert summary["command"] == "build" and summary["elapsed_seconds"] == 12.35
    assert summary["counts"] == {"error": 25, "fail": 1, "skipped": 1, "success": 3, "warn": 1}
    assert [s["node"] for s in summary["slowest"]] == [f"model.p.m{i}" for i in (30, 29, 28, 27, 26)]
    assert len(summary["failures"]) == 20 and summary["failures_not_listed"] == 6
    assert all(len(f["message"]) == 300 for f in summary["failures"])
    assert len(json.dumps(summary)) < 12_000  # small enough for an XCom
    text = format_summary(summary)
    assert text.startswith("dbt build finished in 12.35s: 25 error, 1 fail, 1 skipped, 3 success, 1 warn")
    assert "and 6 more failures" in text
    message = DatacovesDbtOperator.failure_message(1, summary)
    assert message.startswith("dbt failed with exit code 1: model.p.m3 (error), model.p.m4 (error)")
    assert message.endswith("and 6 more")


def test_stale_missing_or_foreign_files_are_ignored(tmp_path):
    path = tmp_path / "run_results.json"
    assert read_run_summary(path) is None
    write_results(path, ["success"])
    old = time.time() - 60
    os.utime(path, (old, old))
    assert read_run_summary(path, written_after=time.time() - 1) is None  # left by an earlier command
    path.write_text("[1, 2]")
    assert read_run_summary(path) is None
    path.write_text("not json")
    assert read_run_summary(path) is None


def test_failure_message_without_run_results():
    assert DatacovesDbtOperator.failure_message(2, None) == (
        "dbt failed with exit code 2; see the dbt output above"
    )
