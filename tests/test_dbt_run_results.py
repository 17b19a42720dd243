"""The run_results.json summary: limits, stale files, and the failure message built from it."""

from __future__ import annotations

import json
import os
import socket
import time

import pytest

from datacoves_airflow_provider.dbt.run_results import format_summary, read_run_summary
from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator


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


class WarningLog:
    """A logger that keeps its warnings."""

    def __init__(self) -> None:
        self.warnings: list[str] = []

    def warning(self, message: str, *args: object) -> None:
        self.warnings.append(message % args)


def _deep(path):
    path.write_text('{"results": [], "x": ' + "[" * 200_000 + "]" * 200_000 + "}")


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (
            lambda p: p.write_text('{"elapsed_time": "12s", "results": []}'),
            "elapsed_time is str, not a number",
        ),
        (
            lambda p: p.write_text('{"results": [{"unique_id": "m", "execution_time": "slow"}]}'),
            "a node's execution_time is str, not a number of seconds",
        ),
        (
            lambda p: p.write_text('{"results": [{"execution_time": NaN}]}'),
            "execution_time is nan, not a number of seconds",
        ),
        (lambda p: p.write_text('{"results": [{"execution_time": {"s": 1}}]}'), "execution_time is dict"),
        (lambda p: p.write_text("[1, 2]"), "its top level is a JSON list, not an object"),
        (lambda p: p.write_text('"results"'), "its top level is a JSON string, not an object"),
        (lambda p: p.write_text('{"results": {}}'), "it has no 'results' list"),
        (lambda p: p.write_text("not json"), "it is not valid JSON"),
        (_deep, "nested too deeply"),
        (lambda p: p.write_bytes(b'{"results": [], "x": "\xff\xfe"}'), "it is not valid UTF-8"),
        (lambda p: os.mkfifo(p), "it is not a regular file"),
        (lambda p: os.symlink("/dev/zero", p), "it is not a regular file"),
        (lambda p: socket.socket(socket.AF_UNIX).bind(str(p)), "it is not a regular file"),
    ],
)
def test_malformed_run_results_give_one_warning_and_no_summary(tmp_path, make, reason):
    path = tmp_path / "run_results.json"
    make(path)
    log = WarningLog()
    started = time.monotonic()
    assert read_run_summary(path, written_after=time.time() - 60, log=log) is None
    assert time.monotonic() - started < 10  # a FIFO is never opened, a device never read
    assert len(log.warnings) == 1, log.warnings
    assert "could not be summarised: " in log.warnings[0] and reason in log.warnings[0], log.warnings[0]
    assert read_run_summary(path) is None  # without a logger: quietly


def test_run_results_read_is_bounded(tmp_path, monkeypatch):
    import datacoves_airflow_provider.dbt.run_results as module

    path = tmp_path / "run_results.json"
    write_results(path, ["success"] * 50)
    monkeypatch.setattr(module, "MAX_RUN_RESULTS_BYTES", 1024)
    log = WarningLog()
    assert read_run_summary(path, log=log) is None
    assert log.warnings and "it is larger than 0 MiB" in log.warnings[0]
    monkeypatch.setattr(module, "MAX_RUN_RESULTS_BYTES", 10 * 1024 * 1024)
    assert read_run_summary(path, log=log)["counts"] == {"success": 50}


@pytest.mark.slow
def test_a_malformed_run_results_keeps_dbts_success(airflow_home, sample_repo, tmp_path):
    """A real dbt task whose command exits 0 leaving a FIFO, or a file with text for times, where
    run_results.json goes: the task succeeds (no hang), with one warning and no summary."""
    from harness.airflow_env import run_dag

    store = tmp_path / "store"
    (tmp_path / "bad_results.py").write_text(
        "from airflow.decorators import dag\nfrom pendulum import datetime\n"
        "from datacoves_airflow_provider.operators.dbt import DatacovesDbtOperator\n"
        "@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)\n"
        "def bad_results():\n"
        "    DatacovesDbtOperator(task_id='fifo', project_dir='transform', dbt_api_enabled=True,\n"
        "        bash_command='mkdir -p target && rm -f target/run_results.json && mkfifo target/run_results.json')\n"
        "    DatacovesDbtOperator(task_id='text_times', project_dir='transform',\n"
        '        bash_command="mkdir -p target && echo \'{\\"results\\": [{\\"execution_time\\": \\"slow\\"}]}\''
        ' > target/run_results.json")\n'
        "bad_results()\n"
    )
    result = run_dag(
        airflow_home,
        tmp_path,
        "bad_results",
        timeout=300,
        DATACOVES__REPO_PATH=str(sample_repo),
        AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE=str(store),
    )
    assert result.states == {"fifo": "success", "text_times": "success"}, result.output[-3000:]
    # Airflow 2.11's `dags test` prints each task log line twice (task handler and console)
    copies = result.output.count("Not uploading run_results.json: ")  # once per log: the FIFO's upload
    assert copies in (1, 2), result.output[-3000:]
    assert result.output.count("could not be summarised: it is not a regular file") == copies
    assert result.output.count("could not be summarised: a node's execution_time is str") == copies
