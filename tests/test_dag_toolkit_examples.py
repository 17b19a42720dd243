"""This repository's example_dags/ (the docs' examples) pass the DAG test toolkit.

Where a docs example legitimately breaks a rule, the rule is configured, not the example edited:
tests/dag_toolkit_fixtures/example_dags_checks.ini says which and why.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness.dag_toolkit import BIN, FIXTURES, clean_env, run, table
from harness.paths import ROOT

EXAMPLES = ROOT / "example_dags"


def test_example_dags_pass_the_ready_made_checks(tmp_path: Path):
    env = clean_env(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c"]
    command += [
        str(FIXTURES / "example_dags_checks.ini"),
        "--pyargs",
        "datacoves_airflow_provider.testing.dag_checks",
    ]
    command += ["--output-file", str(tmp_path / "report.md")]
    result = run(command, tmp_path, env)
    assert result.returncode == 0, result.output
    report = result.report(tmp_path / "report.md")
    rows = table(report)
    example_files = {p.name for p in EXAMPLES.glob("*.py")}
    assert example_files <= set(rows), "an example file was not checked"
    assert {name: cells[2] for name, cells in rows.items() if cells[2]} == {}, report
    # configured, not failed: docs examples without retries warn; two examples have no owner
    assert {cells[3] for cells in rows.values() if cells[3]} <= {"`retries`"}, report
    skipped = [line for line in report.splitlines() if line.startswith("- ") and "skipped by" in line]
    assert sorted(skipped) == [
        "- `airflow_db_sync_operator_dag.py` · `owner`: skipped by datacoves_skip_checks "
        "(owner:airflow_db_sync_operator_dag.py)",
        "- `fivetran_dag.py` · `owner`: skipped by datacoves_skip_checks (owner:fivetran_dag.py)",
    ]


def test_example_dags_pass_the_parse_check(tmp_path: Path):
    """No example reads a Variable or Connection at parse time; all import quickly.

    The threshold is 3 s rather than the docs' 1 s: the two examples that build Kubernetes pod
    overrides import the kubernetes client (about 0.7 s alone here), and this machine's two cores are
    shared with other test processes.
    """
    env = clean_env(AIRFLOW_HOME=str(tmp_path / "home"), AIRFLOW__CORE__LOAD_EXAMPLES="False")
    command = [str(BIN / "datacoves-test-dags"), "--dags-folder", str(EXAMPLES)]
    command += [
        "--dag-loadtime-threshold",
        "3",
        "--check-variable-usage",
        "--filename",
        str(tmp_path / "out.md"),
    ]
    result = run(command, tmp_path, env)
    assert result.returncode == 0, result.output
    report = result.report(tmp_path / "out.md")
    assert report.startswith("## ✅ DAG load times: all ")
    rows = table(report)
    assert {p.name for p in EXAMPLES.glob("*.py")} <= set(rows)
    assert {cells[-1] for cells in rows.values()} == {"✅"}
    assert "### Parse-time calls" not in report
