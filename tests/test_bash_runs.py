"""@task.datacoves_bash and DatacovesBashOperator run by the real ``airflow dags test``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness.airflow_env import DagRunResult, run_dag
from harness.evidence import assert_gone, read
from harness.repos import tree_fingerprint

DAGS = Path(__file__).parent / "dags"


@pytest.fixture(scope="module")
def test_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("venv") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv


@pytest.fixture(scope="module")
def scenario_run(airflow_home, sample_repo, test_venv, tmp_path_factory) -> tuple[DagRunResult, Path, dict]:
    evidence = tmp_path_factory.mktemp("evidence")
    before = tree_fingerprint(sample_repo)
    result = run_dag(
        airflow_home,
        DAGS,
        "bash_scenarios",
        EVIDENCE=str(evidence),
        TEST_VENV=str(test_venv),
        DATACOVES__REPO_PATH=str(sample_repo),
        AIRFLOW_VAR_GREETING="hi there",
    )
    assert result.states, f"the DAG did not run:\n{result.output[-5000:]}"
    return result, evidence, before


@pytest.mark.slow
def test_states(scenario_run):
    result, _, _ = scenario_run
    assert result.states == {
        "write_into_repo": "success",
        "worker_untouched": "success",
        "in_cwd": "success",
        "in_venv": "success",
        "venv_off": "success",
        "failing": "failed",
        "templated_env": "success",
        "appended_env": "success",
        "skipped": "skipped",
        "returns_output": "success",
        "classic_operator": "success",
        "leaves_background_job": "success",
    }, result.output[-5000:]


@pytest.mark.slow
def test_writes_go_to_a_private_copy_and_source_is_unchanged(scenario_run, sample_repo):
    _, evidence, before = scenario_run
    pwd = Path(read(evidence, "write_pwd"))
    assert pwd != sample_repo and pwd.name == "repo"
    assert "datacoves-stage" in str(pwd)
    assert_gone(str(pwd))
    assert tree_fingerprint(sample_repo) == before


@pytest.mark.slow
def test_git_works_in_the_copy(scenario_run):
    _, evidence, _ = scenario_run
    assert read(evidence, "git_branch") == "main"
    # the copy's own changes, nothing else (shared objects, left-out target/ are invisible)
    assert read(evidence, "git_status").splitlines() == ["M README.md", "?? new_file.txt"]


@pytest.mark.slow
def test_repo_copy_is_importable_but_worker_untouched(scenario_run):
    _, evidence, _ = scenario_run
    pwd = read(evidence, "write_pwd")
    assert read(evidence, "write_pythonpath").split(os.pathsep)[0] == pwd
    assert read(evidence, "import_path") == f"{pwd}/orchestrate/utils/helpers.py"
    assert read(evidence, "worker_env").splitlines() == ["<unset>", "<unset>"]


@pytest.mark.slow
def test_cwd_is_relative_to_repo_root(scenario_run):
    _, evidence, _ = scenario_run
    assert read(evidence, "cwd_pwd").endswith("/repo/orchestrate/python_scripts")
    assert read(evidence, "script_out").splitlines()[0] == "Name,Age"
    assert read(evidence, "classic_pwd").endswith("/repo/transform")
    assert read(evidence, "classic_ds") == "2024-01-02"


@pytest.mark.slow
def test_virtualenv_is_activated(scenario_run, test_venv):
    _, evidence, _ = scenario_run
    prefix, virtual_env = read(evidence, "venv_prefix").splitlines()
    assert prefix == str(test_venv) and virtual_env == str(test_venv)
    assert read(evidence, "venv_off") == "<unset>"


@pytest.mark.slow
def test_env_templating_and_append_env(scenario_run, sample_repo):
    _, evidence, _ = scenario_run
    # env replaces the worker environment (BashOperator semantics)...
    assert read(evidence, "templated_env") == "hi there|<unset>"
    # ...unless append_env=True; DATACOVES__REPO_PATH then names the task's own copy, where it runs
    appended_pwd = read(evidence, "appended_pwd")
    assert read(evidence, "appended_env") == f"bash_scenarios|{appended_pwd}"
    assert appended_pwd != str(sample_repo) and "datacoves-stage" in appended_pwd


@pytest.mark.slow
def test_failing_command_fails_and_cleans_up(scenario_run):
    result, evidence, _ = scenario_run
    assert result.states["failing"] == "failed"
    assert "non-zero exit code 3" in result.output
    assert_gone(read(evidence, "failing_pwd"))


@pytest.mark.slow
def test_no_staging_folder_survives(scenario_run):
    _, evidence, _ = scenario_run
    for name in ("write_pwd", "cwd_pwd", "classic_pwd", "failing_pwd"):
        assert_gone(read(evidence, name))


@pytest.mark.slow
def test_background_jobs_are_stopped_gracefully(scenario_run):
    _, evidence, _ = scenario_run
    assert read(evidence, "bg_stopped") == "stopped"  # SIGTERM first, and time to handle it
    stat = Path(f"/proc/{read(evidence, 'bg_pid')}/stat")
    # gone, or a zombie its new parent (PID 1 of this machine) has not reaped: not running
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


@pytest.mark.slow
def test_timeout_kills_command_and_cleans_up(airflow_home, sample_repo, tmp_path):
    result = run_dag(
        airflow_home, DAGS, "bash_timeout", EVIDENCE=str(tmp_path), DATACOVES__REPO_PATH=str(sample_repo)
    )
    assert result.states.get("timed_out") != "success"
    assert "Timeout" in result.output
    assert_gone(read(tmp_path, "timeout_pwd"))
    pid = int(read(tmp_path, "timeout_pid"))
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.slow
def test_missing_repo_path_is_a_clear_error(airflow_home, tmp_path):
    result = run_dag(airflow_home, DAGS, "bash_timeout", EVIDENCE=str(tmp_path))
    assert result.states.get("timed_out") == "failed"
    assert "DATACOVES__REPO_PATH is not set" in result.output
