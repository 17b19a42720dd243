"""The test harness's warm Airflow CLI (harness/airflow_cli.py) gives what a fresh ``airflow`` process gives.

Every other test trusts it: each command sees its own environment, temporary folder and working
folder; exit codes, output and time-outs are those of :func:`subprocess.run`; a configuration that
Airflow rejects on import fails as the fresh process fails.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from harness import airflow_cli
from harness.airflow_env import airflow_env, migrate_airflow_home, task_states

pytestmark = pytest.mark.slow

DAG = """import json, os, sys, tempfile, time
from airflow.decorators import dag, task
from pendulum import datetime


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)
def cli_probe():
    @task
    def probe():
        if os.environ.get("PROBE_FAIL"):
            raise RuntimeError("the probe failed on purpose")
        time.sleep(float(os.environ.get("PROBE_SLEEP", "0")))
        seen = {
            "marker": os.environ.get("PROBE_MARKER"),
            "tmp": tempfile.gettempdir(),
            "cwd": os.getcwd(),
            "argv": sys.argv[1:],
        }
        with open(os.environ["PROBE_OUT"], "w") as out:
            json.dump(seen, out)

    probe()


cli_probe()
"""


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = migrate_airflow_home(tmp_path_factory.mktemp("cli_home"))
    (home / "dags" / "cli_probe.py").write_text(DAG)
    return home


def run(home: Path, tmp_path: Path, fresh: bool, **env: str) -> tuple[subprocess.CompletedProcess, dict]:
    """Run cli_probe once, from the warm server or as a fresh process; return what the task saw."""
    out = tmp_path / f"seen-{'fresh' if fresh else 'warm'}-{env.get('PROBE_MARKER', '')}.json"
    args = ["dags", "test", "cli_probe", "2024-01-02"]
    full_env = airflow_env(home, PROBE_OUT=str(out), **env)
    if fresh:
        proc = subprocess.run(
            [airflow_cli.AIRFLOW_BIN, *args],
            env=full_env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
    else:
        proc = airflow_cli.run_airflow(args, env=full_env, cwd=tmp_path, timeout=300)
    return proc, (json.loads(out.read_text()) if out.exists() else {})


def test_each_command_sees_its_own_environment_tmp_and_folder(home, tmp_path):
    folders = {}
    for marker in ("one", "two"):
        (tmp_path / marker).mkdir()
        folders[marker] = tmp_path / marker
    seen = {}
    for marker, folder in folders.items():
        proc, seen[marker] = run(home, folder, fresh=False, PROBE_MARKER=marker, TMPDIR=str(folder))
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
        assert task_states(home, "cli_probe") == {"probe": "success"}
    for marker, folder in folders.items():
        assert seen[marker]["marker"] == marker
        assert Path(seen[marker]["tmp"]) == folder  # TMPDIR is read in the fork, not in the server
        assert Path(seen[marker]["cwd"]) == folder


def test_a_fork_sees_what_a_fresh_process_sees(home, tmp_path):
    (tmp_path / "fresh").mkdir()
    (tmp_path / "warm").mkdir()
    fresh, seen_fresh = run(home, tmp_path / "fresh", fresh=True, PROBE_MARKER="same", TMPDIR=str(tmp_path))
    warm, seen_warm = run(home, tmp_path / "warm", fresh=False, PROBE_MARKER="same", TMPDIR=str(tmp_path))
    assert fresh.returncode == warm.returncode == 0, warm.stdout[-3000:] + warm.stderr[-3000:]
    assert {k: v for k, v in seen_fresh.items() if k != "cwd"} == {
        k: v for k, v in seen_warm.items() if k != "cwd"
    }
    for proc in (fresh, warm):
        assert "cli_probe" in proc.stdout + proc.stderr


def test_a_failing_run_fails_alike(home, tmp_path):
    fresh, _ = run(home, tmp_path, fresh=True, PROBE_FAIL="1")
    warm, _ = run(home, tmp_path, fresh=False, PROBE_FAIL="1")
    assert task_states(home, "cli_probe") == {"probe": "failed"}
    assert warm.returncode == fresh.returncode
    for proc in (fresh, warm):
        assert "the probe failed on purpose" in proc.stdout + proc.stderr


def test_a_time_out_kills_the_command(home, tmp_path):
    with pytest.raises(subprocess.TimeoutExpired) as raised:
        airflow_cli.run_airflow(
            ["dags", "test", "cli_probe", "2024-01-02"],
            env=airflow_env(home, PROBE_OUT=str(tmp_path / "never.json"), PROBE_SLEEP="120"),
            timeout=10,
        )
    assert raised.value.timeout == 10
    # the command was SIGKILLed and reaped: its process is gone (its task would write never.json)
    assert not Path(f"/proc/{airflow_cli.last_command_pid}").exists()
    assert not (tmp_path / "never.json").exists()


def test_a_configuration_airflow_rejects_on_import_fails_as_a_fresh_process_does(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    env = airflow_env(home, AIRFLOW__SECRETS__BACKEND="no_such_module.NoSuchBackend")
    fresh = subprocess.run(
        [airflow_cli.AIRFLOW_BIN, "version"], env=env, capture_output=True, text=True, timeout=120
    )
    warm = airflow_cli.run_airflow(["version"], env=env, timeout=120)
    assert fresh.returncode != 0
    assert warm.returncode == fresh.returncode
    assert "no_such_module" in warm.stderr
    assert airflow_cli._servers[airflow_cli.configuration_key(env)] is None  # it ran as a plain subprocess


def test_a_new_home_gets_one_config_file_for_forks_and_fresh_processes(tmp_path):
    # the first command writes airflow.cfg with a new Fernet key (connections are encrypted with
    # it): a fork must use the key a fresh process (a scheduler, a worker) reads from the file
    env = airflow_env(tmp_path)
    assert airflow_cli.run_airflow(["db", "migrate"], env=env, timeout=300).returncode == 0
    get_key = ["config", "get-value", "core", "fernet_key"]
    warm = airflow_cli.run_airflow(get_key, env=env, timeout=120)
    fresh = subprocess.run(
        [airflow_cli.AIRFLOW_BIN, *get_key], env=env, capture_output=True, text=True, timeout=120
    )
    assert warm.returncode == fresh.returncode == 0, warm.stderr[-3000:]
    assert warm.stdout.strip() and warm.stdout.strip() == fresh.stdout.strip()
