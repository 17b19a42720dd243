"""Optional integrations: a missing one says which extra installs it, and the extras exist.

Each optional import site runs here with the module it imports made unimportable
(``sys.modules[name] = None`` makes ``import name`` raise ImportError), in-process.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import tomllib
from harness.paths import ROOT
from packaging.requirements import Requirement

from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.optional_import import MissingExtraError


def _destination(db_type: str) -> Any:
    from datacoves_airflow_provider.operators.data_sync import make_destination

    return make_destination(db_type, f"{db_type}_conn", None)


def _redshift_from_service_connection(monkeypatch: pytest.MonkeyPatch) -> Any:
    from datacoves_airflow_provider.operators.data_sync import make_destination

    for field, value in {"HOST": "redshift.invalid", "USER": "u", "DATABASE": "db"}.items():
        monkeypatch.setenv(f"DATACOVES__LOAD__{field}", value)
    return make_destination("redshift", None, "load")


def _s3_store() -> Any:
    from datacoves_airflow_provider.dbt.artifact_store import S3ArtifactStore

    return S3ArtifactStore("bucket", "prefix", "aws_default")


def _artifact_key() -> Any:
    from datacoves_airflow_provider.dbt.artifact_store import ArtifactKey

    return ArtifactKey("run_results.json", None, "latest")


def _aws_secrets() -> Any:
    from datacoves_airflow_provider.secrets.datacoves import DatacovesSecretsBackend

    return DatacovesSecretsBackend(aws_secrets_manager={}, datacoves=False).get_config("sql_alchemy_conn")


def _slack_send() -> Any:
    from datacoves_airflow_provider.notifiers.slack import SlackNotifier

    return SlackNotifier().send(None)  # type: ignore[arg-type]  (the import comes first)


Call = Callable[[pytest.MonkeyPatch, Path], Any]

#: (site, the module it imports, the extra that installs it, the call that reaches the import)
SITES: list[tuple[str, str, str, Call]] = [
    (
        "snowflake connect",
        "snowflake.connector",
        "snowflake",
        lambda mp, tmp: _destination("snowflake").connect(),
    ),
    (
        "snowflake connect",
        "airflow.providers.snowflake.hooks.snowflake",
        "snowflake",
        lambda mp, tmp: _destination("snowflake").connect(),
    ),
    (
        "postgres connect",
        "airflow.providers.postgres.hooks.postgres",
        "postgres",
        lambda mp, tmp: _destination("postgres").connect(),
    ),
    ("redshift connect: driver", "psycopg2", "redshift", lambda mp, tmp: _destination("redshift").connect()),
    (
        "redshift connect: hook",
        "airflow.providers.amazon.aws.hooks.redshift_sql",
        "redshift",
        lambda mp, tmp: _destination("redshift").connect(),
    ),
    (
        "redshift insert_batch",
        "psycopg2.extras",
        "redshift",
        lambda mp, tmp: _destination("redshift").insert_batch("INSERT INTO t (a) VALUES (%s)", [(1,)]),
    ),
    (
        "redshift service connection (path)",
        "airflow.providers.amazon.aws.hooks.redshift_sql",
        "redshift",
        lambda mp, tmp: _redshift_from_service_connection(mp).connect(),
    ),
    ("duckdb connect", "duckdb", "duckdb", lambda mp, tmp: _destination("duckdb").connect()),
    ("S3 store client", "airflow.providers.amazon.aws.hooks.s3", "aws", lambda mp, tmp: _s3_store()._s3()),
    (
        "S3 store download",
        "botocore.exceptions",
        "aws",
        lambda mp, tmp: _s3_store().download(_artifact_key(), tmp / "run_results.json"),
    ),
    (
        "S3 store stored_tag",
        "botocore.exceptions",
        "aws",
        lambda mp, tmp: _s3_store().stored_tag(_artifact_key()),
    ),
    (
        "secrets: AWS Secrets Manager",
        "airflow.providers.amazon.aws.secrets.secrets_manager",
        "aws",
        lambda mp, tmp: _aws_secrets(),
    ),
    ("SlackNotifier", "airflow.providers.slack.hooks.slack_webhook", "slack", lambda mp, tmp: _slack_send()),
]

PACKAGE_DIRS = [ROOT / "datacoves_airflow_provider", ROOT / "operators", ROOT / "notifiers"]
_REQUIRES_EXTRA = re.compile(r"""\brequires_extra\(\s*["']([^"']+)["']\s*\)""")


def _optional_dependencies() -> dict[str, list[str]]:
    with (ROOT / "pyproject.toml").open("rb") as file:
        return tomllib.load(file)["project"]["optional-dependencies"]


def _extras_in_sources() -> list[str]:
    """The extra of every ``with requires_extra(...)`` in the shipped packages, once per site."""
    found = []
    for folder in PACKAGE_DIRS:
        for path in sorted(folder.rglob("*.py")):
            if path.name != "optional_import.py":  # its docstring's example
                found += _REQUIRES_EXTRA.findall(path.read_text())
    return found


@pytest.mark.parametrize(
    ("module", "extra", "call"),
    [pytest.param(module, extra, call, id=f"{site}: {module}") for site, module, extra, call in SITES],
)
def test_a_missing_optional_module_names_its_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, module: str, extra: str, call: Call
) -> None:
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ImportError) as raised:
        call(monkeypatch, tmp_path)
    assert isinstance(raised.value, MissingExtraError) and isinstance(raised.value, DatacovesError)
    assert raised.value.extra == extra
    message = str(raised.value)
    assert f"pip install 'datacoves-airflow-provider[{extra}]'" in message
    assert module in message  # the cause: "import of <module> halted; None in sys.modules"


def test_every_import_site_is_tested_here() -> None:
    """One ``requires_extra`` block per site of :data:`SITES`: a new site needs a row there."""
    sites = {(s, e) for s, _, e, _ in SITES if not s.endswith("(path)")}  # a "(path)" row: another way in
    assert sorted(_extras_in_sources()) == sorted(extra for _, extra in sites)


def test_every_extra_named_exists_and_all_is_every_extra() -> None:
    extras = _optional_dependencies()
    named = set(_extras_in_sources())
    assert named <= extras.keys(), (
        f"extras named in messages but missing from pyproject: {named - extras.keys()}"
    )
    (everything,) = (Requirement(req) for req in extras["all"])
    assert everything.name == "datacoves-airflow-provider"
    assert everything.extras == extras.keys() - {"all"}
    assert (extras.keys() - {"all", "airbyte"}) == named  # airbyte: for the docs' examples only


def test_the_install_command() -> None:
    from datacoves_airflow_provider.optional_import import install_command, requires_extra

    assert install_command("aws") == "pip install 'datacoves-airflow-provider[aws]'"
    with pytest.raises(MissingExtraError) as raised, requires_extra("duckdb"):
        raise ModuleNotFoundError("No module named 'duckdb'", name="duckdb")
    assert raised.value.name == "duckdb"
    assert str(raised.value) == (
        "No module named 'duckdb': an optional dependency of this package's 'duckdb' extra; "
        "install it with pip install 'datacoves-airflow-provider[duckdb]'"
    )
    with pytest.raises(ValueError), requires_extra("duckdb"):  # only ImportError is translated
        raise ValueError("not an import")
