"""The Datacoves platform's Airflow image (docs/running-on-datacoves.md, "Install"): Airflow 2.10.5
with the providers it pins (requirements/airflow210.lock, .venvs/af210).

Runs only there: scripts/test.sh runs this module on .venvs/af210 and nothing else on it, and
tests/conftest.py leaves this folder out on the other lines. Anything missing on this line fails
here; nothing is skipped.

- Installing our package the way a user does (a wheel, ``pip``/``uv pip install`` with its
  dependencies) into a virtualenv holding the image's packages adds our package and changes nothing.
- One ``airflow dags test`` run: @task.datacoves_bash in the repository copy, @task.datacoves_dbt
  with dbt-duckdb from .venvs/dbt, a ``datacoves-`` variable served by DatacovesSecretsBackend from
  the reference server, and MSTeamsNotifier posting to a webhook recorder.
- The data sync's Snowflake and Redshift destinations read their connection parameters through the
  image's SnowflakeHook 5.8 and RedshiftSQLHook 9.0.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from harness.airflow_env import run_dag
from harness.api_server import running_datacoves_api_server
from harness.dbt import dbt_env
from harness.paths import ROOT
from harness.webhook_recorder import webhook_recorder

LOCK = ROOT / "requirements" / "airflow210.lock"
DAGS = Path(__file__).parent / "dags"
SECRET = "dc-platform-value-5309"
OUR_PACKAGE = "datacoves-airflow-provider"
#: What the image pins (PLATFORM.md §8) and must still have after our package is installed.
IMAGE_PINS = {
    "apache-airflow": "2.10.5",
    "apache-airflow-providers-snowflake": "5.8.0",
    "apache-airflow-providers-amazon": "9.0.0",
    "apache-airflow-providers-postgres": "5.13.1",
    "apache-airflow-providers-slack": "8.9.1",
}


def test_this_is_the_platform_image_line():
    installed = {name: version(name) for name in IMAGE_PINS}
    assert installed == IMAGE_PINS, "run this module on .venvs/af210 (scripts/bootstrap.sh af210)"


def uv() -> str:
    found = shutil.which("uv") or shutil.which("uv", path=str(Path(sys.executable).parent))
    assert found, "uv is missing: scripts/bootstrap.sh installs it"
    return found


def freeze(venv: Path) -> dict[str, str]:
    out = subprocess.run(
        [uv(), "pip", "freeze", "--python", str(venv / "bin" / "python")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = [line for line in out.splitlines() if line and not line.startswith("#")]
    return dict(line.split("==", 1) if "==" in line else line.split(" @ ", 1) for line in lines)


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """Our package built as the wheel a user installs."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([uv(), "build", "--quiet", "--wheel", "--out-dir", str(out), str(ROOT)], check=True)
    (built,) = out.glob("*.whl")
    return built


def test_installing_into_the_image_changes_nothing_else(tmp_path, wheel):
    venv = tmp_path / "image"
    subprocess.run([uv(), "venv", "--quiet", "--seed", "--python", sys.executable, str(venv)], check=True)
    python = str(venv / "bin" / "python")
    subprocess.run([uv(), "pip", "sync", "--quiet", "--python", python, str(LOCK)], check=True)
    subprocess.run([uv(), "pip", "install", "--quiet", "--python", python, "pip"], check=True)
    before = freeze(venv)
    assert OUR_PACKAGE not in before

    # pip (what the image's users run) would install our package and nothing else
    report = subprocess.run(
        [python, "-m", "pip", "install", "--dry-run", "--quiet", "--report", "-", str(wheel)],
        capture_output=True,
        text=True,
    )
    assert report.returncode == 0, report.stdout + report.stderr
    planned = [item["metadata"]["name"] for item in json.loads(report.stdout)["install"]]
    assert planned == [OUR_PACKAGE]

    # and a real install with its dependencies leaves every other package as it was
    subprocess.run([uv(), "pip", "install", "--quiet", "--python", python, str(wheel)], check=True)
    after = freeze(venv)
    assert set(after) - set(before) == {OUR_PACKAGE}
    assert {name: after[name] for name in before} == before
    assert {name: after[name] for name in IMAGE_PINS} == IMAGE_PINS


@pytest.fixture(scope="module")
def secrets_api(tmp_path_factory):
    folder = tmp_path_factory.mktemp("secrets_api")
    secrets = [
        {
            "slug": "datacoves-mayras_secret",
            "format": "key_value",
            "value": SECRET,
            "project": "analytics",
            "environment": "env123",
        }
    ]
    (folder / "secrets.json").write_text(json.dumps(secrets))
    with running_datacoves_api_server(folder / "data", "--secrets-file", str(folder / "secrets.json")) as server:
        yield server


@pytest.fixture(scope="module")
def dag_run(airflow_home, demo_repo, dbt_venv, secrets_api, tmp_path_factory):
    evidence = tmp_path_factory.mktemp("evidence")
    database = tmp_path_factory.mktemp("duckdb") / "warehouse.duckdb"
    with webhook_recorder() as recorder:
        result = run_dag(
            airflow_home,
            DAGS,
            "platform_image",
            EVIDENCE=str(evidence),
            DATACOVES__REPO_PATH=str(demo_repo),
            AIRFLOW_CONN_DUCKDB_MAIN=json.dumps({"conn_type": "duckdb", "host": str(database)}),
            AIRFLOW_CONN_TEAMS_ALERTS=json.dumps(
                {"conn_type": "http", "host": f"{recorder.url}/workflows/abc/triggers/manual/paths/invoke"}
            ),
            AIRFLOW__SECRETS__BACKEND="datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend",
            **secrets_api.env(),
            **dbt_env(dbt_venv),
        )
        posted = recorder.snapshot()
    return result, evidence, posted


def read(evidence: Path, name: str) -> str:
    path = evidence / name
    assert path.exists(), f"the task did not write {name}"
    return path.read_text().strip()


@pytest.mark.slow
def test_every_task_succeeds(dag_run):
    result, _, _ = dag_run
    assert result.states == dict.fromkeys(("bash_in_copy", "dbt_build", "read_secret"), "success"), (
        result.output[-6000:]
    )


@pytest.mark.slow
def test_bash_task_runs_in_a_private_copy(dag_run, demo_repo):
    _, evidence, _ = dag_run
    pwd = Path(read(evidence, "bash_pwd"))
    assert pwd != demo_repo and not pwd.is_relative_to(demo_repo)
    assert read(evidence, "bash_wrote") == "written"
    assert not (demo_repo / "scratch.txt").exists()


@pytest.mark.slow
def test_dbt_task_runs_dbt_from_its_own_virtualenv(dag_run):
    result, evidence, _ = dag_run
    assert Path(read(evidence, "dbt_pwd")).name == "transform"
    assert "Running dbt deps" in result.output
    assert "Completed successfully" in result.output


@pytest.mark.slow
def test_secret_comes_from_the_datacoves_api_and_is_masked(dag_run, secrets_api):
    result, evidence, _ = dag_run
    assert read(evidence, "secret_digest") == hashlib.sha256(SECRET.encode()).hexdigest()
    assert any("datacoves-mayras_secret" in r["path"] for r in secrets_api.requests())
    assert SECRET not in result.output


@pytest.mark.slow
def test_notifier_posts_an_adaptive_card(dag_run):
    _, _, posted = dag_run
    cards = [r.json() for r in posted if "/workflows/" in r.path]
    assert len(cards) == 1, posted
    card = cards[0]["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "platform-image-alert" in json.dumps(card["content"])
    assert "read_secret done" in json.dumps(card["content"])


def test_data_sync_connects_through_the_image_hooks(monkeypatch, fakesnow):
    """SnowflakeHook 5.8 (parameters as a property, no host/port) reaches fakesnow's server;
    RedshiftSQLHook 9.0 builds the Redshift destination's parameters."""
    from airflow.providers.amazon.aws.hooks.redshift_sql import RedshiftSQLHook

    from datacoves_airflow_provider.data_sync.destinations.snowflake import SnowflakeDestination

    extra = {"account": "fakesnow", "database": "platform", "warehouse": "WH", "host": "127.0.0.1"}
    extra |= {"port": fakesnow.port, "protocol": "http"}
    snowflake = {"conn_type": "snowflake", "login": "u", "password": "snow-pass-3391", "extra": extra}
    monkeypatch.setenv("AIRFLOW_CONN_SNOW", json.dumps(snowflake))
    connection = SnowflakeDestination("snow").connect()
    try:
        assert connection.cursor().execute("select 41 + 1").fetchone() == (42,)
    finally:
        connection.close()

    redshift = {"conn_type": "redshift", "host": "rs.internal", "login": "u", "password": "p", "schema": "dev"}
    monkeypatch.setenv("AIRFLOW_CONN_REDSHIFT", json.dumps(redshift))
    params = RedshiftSQLHook(redshift_conn_id="redshift")._get_conn_params()
    assert (params["host"], params["database"]) == ("rs.internal", "dev")
