"""The DAG test toolkit end to end on a fixture repository, run the way the docs' CI runs it.

tests/dag_toolkit_fixtures/repo holds good DAGs and one DAG per rule broken (see its README). The
parse checker, the ready-made checks and the docs' validate_dags.py (copied unchanged) each run in a
subprocess with the repository on PYTHONPATH; each catches its cases, passes the rest, and writes
the report in tests/dag_toolkit_fixtures/expected/.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from harness.dag_toolkit import (
    BIN,
    FIXTURE_VARIABLES,
    assert_matches_expected,
    copy_fixture_repo,
    repo_env,
    run,
    table,
)
from harness.paths import airflow_major

GOOD = ["good_classic.py", "good_taskflow.py"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_fixture_repo(tmp_path_factory.mktemp("toolkit") / "repo")


@pytest.fixture(scope="module")
def env(repo: Path) -> dict[str, str]:
    return repo_env(repo, repo.parent / "airflow_home", **FIXTURE_VARIABLES)


# --- the parse checker (the docs' test_dags.py) ---------------------------------------------------


@pytest.fixture(scope="module")
def parse_check(repo: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """The docs' CI step, through the console script: (exit status, output, report)."""
    command = [
        str(BIN / "datacoves-test-dags"),
        "--dag-loadtime-threshold",
        "1",
        "--check-variable-usage",
        "--write-output",
        "--filename",
        str(repo / "test_output.md"),
    ]
    result = run(command, repo, env)
    return result.returncode, result.output, result.report(repo / "test_output.md")


def test_parse_check_flags_slow_files_import_errors_and_parse_time_variables(parse_check):
    returncode, output, report = parse_check
    assert returncode == 1, output
    verdicts = {name: cells[-1] for name, cells in table(report).items()}
    assert verdicts.pop("bad_slow_import.py") == "❌ over 1 s"
    assert verdicts.pop("bad_import_error.py") == "❌ import error"
    assert verdicts.pop("bad_top_level_variable.py") == "❌ 1 parse-time call"
    # only the import shows this one: the Variable.get is at the top of orchestrate/utils/warehouse_settings.py
    assert verdicts.pop("bad_hidden_variable.py") == "❌ 1 parse-time call"
    assert set(verdicts.values()) == {"✅"}, verdicts
    assert "| `bad_hidden_variable.py` | `orchestrate/utils/warehouse_settings.py:5` |" in report
    assert "| `bad_top_level_variable.py` | `orchestrate/dags/bad_top_level_variable.py:9` |" in report


def test_parse_check_table_is_sorted_by_load_time(parse_check):
    _, _, report = parse_check
    rows = table(report)
    times = [float(cells[0]) for cells in rows.values()]
    assert times == sorted(times, reverse=True)
    assert next(iter(rows)) == "bad_slow_import.py" and times[0] > 1
    assert all(t < 1 for t in times[1:]), "a fixture file other than bad_slow_import.py is slow"


def test_parse_check_report(parse_check, repo):
    _, output, report = parse_check
    assert report in output  # the same markdown is printed
    assert_matches_expected(report, "test_dags.md", repo, sort_rows=True)


def test_parse_check_in_a_new_interpreter_per_file(repo: Path, env: dict[str, str], tmp_path: Path):
    """--isolation spawn (the default off Linux) through python -m; still sees the helper's lookup."""
    folder = tmp_path / "dags"
    folder.mkdir()
    (folder / "bad_hidden_variable.py").write_text(
        (repo / "orchestrate/dags/bad_hidden_variable.py").read_text()
    )
    command = [sys.executable, "-m", "datacoves_airflow_provider.testing.dag_parse_check"]
    command += ["--dags-folder", str(folder), "--isolation", "spawn", "--check-variable-usage"]
    result = run(command, repo, env)
    assert result.returncode == 1, result.output
    assert (
        "| `bad_hidden_variable.py` | `orchestrate/utils/warehouse_settings.py:5` | `Variable.get('fixture_schema')` (Variable) | import |"
        in result.output
    )


# --- the ready-made checks ------------------------------------------------------------------------

EXPECTED_FAILURES = {
    "bad_catchup_true.py": "`catchup`",
    "bad_disallowed_operator.py": "`task_types`",
    "bad_dynamic_start_date.py": "`start_date`",
    "bad_import_error.py": "`imports`",
    "bad_missing_tags.py": "`tags`",
    "bad_no_owner.py": "`owner`",
    "bad_no_retries.py": "`retries`",
    "bad_top_level_variable.py": "`parse_time_calls`",
    "bad_unapproved_tag.py": "`tags`",
}


@pytest.fixture(scope="module")
def dag_checks(repo: Path, env: dict[str, str]) -> tuple[int, str, str]:
    """pytest --pyargs ...dag_checks, configured by the repository's pytest.ini."""
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs"]
    command += ["datacoves_airflow_provider.testing.dag_checks", "--output-file", "checks.md"]
    result = run(command, repo, env)
    return result.returncode, result.output, result.report(repo / "checks.md")


def test_dag_checks_catch_each_bad_dag_and_pass_the_good_ones(dag_checks):
    returncode, output, report = dag_checks
    assert returncode == 1, output
    rows = table(report)
    failed = {name: cells[2] for name, cells in rows.items() if cells[2]}
    warned = {name: cells[3] for name, cells in rows.items() if cells[3]}
    assert failed == EXPECTED_FAILURES
    assert warned == {"bad_few_retries.py": "`retries`"}
    for name in [*GOOD, "bad_slow_import.py", "bad_hidden_variable.py"]:
        assert rows[name][0] == "✅", (name, rows[name])
    assert "9 failed, 110 passed, 1 warned" in report
    assert "9 failed, 111 passed, 1 warning" in output  # pytest's count: a warned check passed


def test_dag_checks_report(dag_checks, repo):
    _, _, report = dag_checks
    assert_matches_expected(report, "dag_checks.md", repo)


# --- the docs' validate_dags.py, copied unchanged -------------------------------------------------

DOCS_TEST = "orchestrate/test_dags/validate_dags.py"


def test_docs_validate_dags(repo: Path, env: dict[str, str], tmp_path: Path):
    """Airflow 2.11: the docs' file and conftest.py work as they are and produce the report.

    Airflow 3: the docs' file cannot collect (DagBag lost include_examples); the report says so and
    points at the fix, and with the change docs/dag-testing.md describes it checks what it checks
    on 2.11.
    """
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", DOCS_TEST, "--output-file"]
    expected_failures = {
        "bad_catchup_true.py": "`dag_has_catchup_false`",
        "bad_disallowed_operator.py": "`dag_uses_allowed_operators_only`",
        "bad_import_error.py": "`file_imports`",
        "bad_missing_tags.py": "`dag_tags`",
        "bad_no_retries.py": "`dag_retries`",
        "bad_unapproved_tag.py": "`dag_tags`",
    }
    if airflow_major() < 3:
        result = run([*command, str(tmp_path / "docs.md")], repo, env)
        assert result.returncode == 1, result.output
        report = result.report(tmp_path / "docs.md")
        assert_matches_expected(report, "validate_dags_airflow2.md", repo)
    else:
        result = run([*command, str(tmp_path / "docs.md")], repo, env)
        assert result.returncode == 2, result.output  # interrupted: an error during collection
        report = result.report(tmp_path / "docs.md")
        assert_matches_expected(report, "validate_dags_airflow3.md", repo)

        changed = copy_fixture_repo(tmp_path / "changed")
        source = (changed / DOCS_TEST).read_text()
        assert source.count("DagBag(include_examples=False)") == 2
        source = source.replace(
            "from airflow.models import DagBag",
            "from datacoves_airflow_provider.testing.dag_loader import load_dag_bag",
        ).replace("DagBag(include_examples=False)", "load_dag_bag()")
        (changed / DOCS_TEST).write_text(source)
        # The docs' file parses the folder ten times; the slow file would add 12 s and checks nothing here.
        (changed / "orchestrate/dags/.airflowignore").write_text("bad_slow_import[.]py\n")
        env = repo_env(changed, tmp_path / "airflow_home", **FIXTURE_VARIABLES)
        result = run([*command, str(tmp_path / "changed.md")], changed, env)
        assert result.returncode == 1, result.output
        report = result.report(tmp_path / "changed.md")
        assert "bad_slow_import.py" not in table(report)  # .airflowignore is honoured
    rows = table(report)
    assert {name: cells[2] for name, cells in rows.items() if cells[2]} == expected_failures
    assert {name: cells[3] for name, cells in rows.items() if cells[3]} == {
        "bad_few_retries.py": "`dag_retries`"
    }
    assert re.search(r"^## ❌ DAG checks: 6 failed, \d+ passed, 1 warned$", report, re.M), report
