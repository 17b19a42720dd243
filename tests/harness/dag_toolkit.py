"""Helpers shared by the DAG test toolkit's tests: the fixture repository, clean environments, report normalising."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from harness.paths import TESTS

FIXTURES = TESTS / "dag_toolkit_fixtures"
EXPECTED = FIXTURES / "expected"
BIN = Path(sys.executable).parent

#: Variables the fixture DAGs read at parse time (so that those files import, and only the parse
#: checker objects to them).
FIXTURE_VARIABLES = {"AIRFLOW_VAR_FIXTURE_TARGET": "prod", "AIRFLOW_VAR_FIXTURE_SCHEMA": "analytics"}


@dataclass
class Run:
    returncode: int
    output: str

    def report(self, path: Path) -> str:
        assert path.exists(), f"no report at {path}; output:\n{self.output[-4000:]}"
        return path.read_text()


def copy_fixture_repo(dest: Path) -> Path:
    """A private copy of tests/dag_toolkit_fixtures/repo (runs leave caches and reports in it)."""
    shutil.copytree(FIXTURES / "repo", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Airflow, Datacoves or pytest settings, plus ``extra``."""
    prefixes = ("AIRFLOW", "DATACOVES__", "PYTEST_", "PYTHONPATH")
    env = {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}
    env.update(PYTHONHASHSEED="0", NO_COLOR="1", COLUMNS="200")
    env.update(extra)
    return env


def repo_env(repo: Path, home: Path, **extra: str) -> dict[str, str]:
    """The docs' CI environment for a repository: DAGs folder, repository on PYTHONPATH."""
    home.mkdir(parents=True, exist_ok=True)
    return clean_env(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(repo / "orchestrate" / "dags"),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__CORE__UNIT_TEST_MODE="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home}/airflow.db",
        PYTHONPATH=str(repo),
        **extra,
    )


def run(command: list[str], cwd: Path, env: dict[str, str], timeout: int = 300) -> Run:
    proc = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return Run(proc.returncode, proc.stdout + proc.stderr)


def normalise(report: str, repo: Path | None = None, *, sort_rows: bool = False) -> str:
    """A report with what changes between runs replaced: paths, times, addresses, versions.

    With ``sort_rows``, consecutive table rows are sorted, so rows ordered by a measured time
    compare as a set.
    """
    text = report
    if repo is not None:
        text = text.replace(str(repo), "<repo>")
    text = re.sub(r'File "<frozen ([^"]+)>", line \d+', r'File "<frozen \1>", line N', text)
    text = re.sub(r"0x[0-9a-f]+", "0x…", text)
    text = re.sub(r"Airflow \d+\.\d+\.\d+", "Airflow <version>", text)
    text = re.sub(r"\| \d+\.\d\d \|", "| <t> |", text)
    if not sort_rows:
        return text
    lines: list[str] = []
    block: list[str] = []
    for line in text.splitlines():
        if line.startswith("| `"):
            block.append(line)
            continue
        lines += sorted(block)
        block = []
        lines.append(line)
    lines += sorted(block)
    return "\n".join(lines) + "\n"


def table(report: str) -> dict[str, list[str]]:
    """The first table of a report: first cell -> the other cells."""
    rows: dict[str, list[str]] = {}
    for line in report.splitlines():
        if line.startswith("| `"):
            cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
            rows.setdefault(cells[0].strip("`"), cells[1:])
        elif rows and not line.startswith("|"):
            break
    return rows


def assert_matches_expected(
    report: str, expected_name: str, repo: Path | None = None, *, sort_rows: bool = False
) -> None:
    """Compare with tests/dag_toolkit_fixtures/expected/<expected_name> after :func:`normalise`.

    With DAG_TOOLKIT_UPDATE_EXPECTED=1 the expected file is rewritten instead (review the diff).
    """
    actual = normalise(report, repo, sort_rows=sort_rows)
    path = EXPECTED / expected_name
    if os.environ.get("DAG_TOOLKIT_UPDATE_EXPECTED") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
    assert actual == path.read_text(), f"{expected_name} differs:\n{actual}"
