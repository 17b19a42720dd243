"""Where things are: the repository, the tests, the Airflow binary and line of this interpreter."""

from __future__ import annotations

import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent
ROOT = TESTS.parent
#: The ``airflow`` command of this interpreter's virtualenv.
AIRFLOW_BIN = str(Path(sys.executable).parent / "airflow")
#: The DAG files the tests run.
DAGS = TESTS / "dags"
#: The dbt virtualenv (dbt-core and adapters, moto, fakesnow), separate from Airflow's.
DBT_VENV = ROOT / ".venvs" / "dbt"
#: The documentation's example repository (dbt project in transform/, profiles in automate/dbt).
DEMO_REPO = ROOT / "example_dags" / "demo_repo"


def airflow_major() -> int:
    """The major version of this interpreter's Airflow (2 or 3)."""
    from airflow import __version__

    return int(__version__.split(".")[0])


def platform_image_line() -> bool:
    """True on .venvs/af210, the Datacoves platform image's Airflow 2.10 (no import of Airflow here)."""
    from importlib.metadata import version

    return version("apache-airflow").startswith("2.10.")
