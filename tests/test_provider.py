"""The package as deployers install it: provider discovery, metadata, wheel contents, import cost."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from harness.airflow_env import airflow_env
from harness.paths import AIRFLOW_BIN, ROOT


@pytest.mark.slow
def test_airflow_providers_list_shows_us(airflow_home):
    proc = subprocess.run(
        [AIRFLOW_BIN, "providers", "list", "--output", "json"],
        env=airflow_env(airflow_home),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    providers = {p["package_name"]: p for p in json.loads(proc.stdout)}
    assert "datacoves-airflow-provider" in providers


def test_provider_info_is_valid_and_registers_only_what_exists():
    import importlib

    import jsonschema
    from airflow import settings  # noqa: F401  (loads airflow)

    from datacoves_airflow_provider.get_provider_info import get_provider_info

    schema_path = Path(importlib.import_module("airflow").__file__).parent / "provider_info.schema.json"
    info = get_provider_info()
    jsonschema.validate(info, json.loads(schema_path.read_text()))
    for decorator in info["task-decorators"]:
        module, _, name = decorator["class-name"].rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
    assert {d["name"] for d in info["task-decorators"]} == {
        "datacoves_bash",
        "datacoves_dbt",
        "datacoves_airflow_db_sync",
    }
    for dotted in info["secrets-backends"]:
        module, _, name = dotted.rpartition(".")
        assert issubclass(getattr(importlib.import_module(module), name), object)
    for dotted in info["notifications"]:
        module, _, name = dotted.rpartition(".")
        assert callable(getattr(importlib.import_module(module), name))
    assert info["notifications"] == [
        "datacoves_airflow_provider.notifiers.ms_teams.MSTeamsNotifier",
        "datacoves_airflow_provider.notifiers.slack.SlackNotifier",
    ]
    assert info["secrets-backends"] == [
        "datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend"
    ]


def test_wheel_ships_the_package_and_legacy_shims_only(tmp_path):
    uv = shutil.which("uv")
    assert uv, "uv is installed by scripts/bootstrap.sh"
    subprocess.run(
        [uv, "build", "--wheel", "-q", "-o", str(tmp_path), str(ROOT)], check=True, capture_output=True
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"datacoves_airflow_provider", "operators", "notifiers"}
    assert "datacoves_airflow_provider/py.typed" in names
    assert {
        "operators/datacoves/bash.py",
        "operators/datacoves/dbt.py",
        "operators/datacoves/data_sync.py",
    } <= set(names)
    assert {"notifiers/datacoves/ms_teams.py", "notifiers/datacoves/slack.py"} <= set(names)
    assert "notifiers/__init__.py" not in names and "operators/__init__.py" not in names  # namespace packages
    assert not any(n.split("/")[0] in {"secrets", "testing", "decorators"} for n in names)
    # test-only helpers live in tests/harness (metadata_seed.py moved there): none in the wheel
    assert not any(n.endswith("metadata_seed.py") or "harness/" in n for n in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "[apache_airflow_provider]" in text


def test_importing_our_modules_pulls_no_heavy_dependency():
    code = (
        "import sys, airflow.decorators\n"
        "before = set(sys.modules)\n"
        "import datacoves_airflow_provider.decorators.bash, operators.datacoves.bash\n"
        "import datacoves_airflow_provider.decorators.dbt, operators.datacoves.dbt\n"
        "import datacoves_airflow_provider.dbt.retry, datacoves_airflow_provider.dbt.api_client\n"
        "import datacoves_airflow_provider.dbt.artifact_store\n"
        "import datacoves_airflow_provider.secrets.datacoves, datacoves_airflow_provider.secrets.api_client\n"
        "import datacoves_airflow_provider.notifiers.ms_teams, datacoves_airflow_provider.notifiers.slack\n"
        "from datacoves_airflow_provider.notifiers import inform_failure; inform_failure(theme_color='emphasis')\n"
        "import notifiers.datacoves.ms_teams, notifiers.datacoves.slack, datacoves_airflow_provider.hooks.ms_teams_webhook\n"
        "import datacoves_airflow_provider.decorators.data_sync, operators.datacoves.data_sync\n"
        "import datacoves_airflow_provider.data_sync.engine, datacoves_airflow_provider.data_sync.source\n"
        "import datacoves_airflow_provider.data_sync.destinations.postgres, datacoves_airflow_provider.data_sync.destinations.duckdb\n"
        "import datacoves_airflow_provider.data_sync.destinations.snowflake\n"
        "heavy = ('requests', 'boto3', 'botocore', 'pandas', 'snowflake', 'numpy', 'yaml', 'dbt', 'slack_sdk',\n"
        "         'duckdb', 'psycopg', 'psycopg2', 'pyarrow', 'redshift_connector')\n"
        "print([m for m in set(sys.modules) - before if m.split('.')[0] in heavy or m in heavy])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.slow
def test_config_options_are_registered(airflow_home):
    """Deployers see our defaults through Airflow's own config command."""
    for option, expected in (("dbt_artifact_store_conn_id", "aws_default"), ("staging_dir", "")):
        proc = subprocess.run(
            [AIRFLOW_BIN, "config", "get-value", "datacoves", option],
            env=airflow_env(airflow_home),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert proc.stdout.strip() == expected
