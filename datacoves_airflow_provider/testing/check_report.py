"""The markdown report of DAG checks the pytest plugin
(:mod:`datacoves_airflow_provider.testing.custom_reporter`) writes: each test's outcome collected
per DAG file, then rendered for a pull-request comment."""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from datacoves_airflow_provider.testing.markdown import code_block, table_cell

__all__ = ["CheckResult", "DagCheckReport"]

_PATH_PARAMETERS = ("dag_file", "fileloc", "rel_path", "file_path", "filepath", "path", "filename", "file")
_MAX_MESSAGE = 3000
_INCLUDE_EXAMPLES_HINT = (
    "Airflow 3's `DagBag` no longer takes `include_examples`: load the DAGs with "
    "`datacoves_airflow_provider.testing.dag_loader.load_dag_bag()` (both Airflow lines), or run the "
    "ready-made checks: `pytest --pyargs datacoves_airflow_provider.testing.dag_checks`."
)
_MAX_REPORT = 60000  # GitHub comments hold 65536 characters


@dataclass
class CheckResult:
    """The outcome of one test (a check on a DAG file).

    :param dag_file: the DAG file, relative to the DAGs folder; None for tests about no DAG file.
    :param test_file: the test module's file name.
    :param check: the test function's name without ``test_``.
    :param outcome: ``passed``, ``failed``, ``error`` or ``skipped``.
    :param message: the failure message or skip reason.
    :param warnings: warnings the test raised.
    """

    dag_file: str | None
    test_file: str
    check: str
    outcome: str = "passed"
    message: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def row(self) -> str:
        """The report row it belongs to, as markdown."""
        if self.dag_file is not None:
            return f"`{table_cell(self.dag_file)}`"
        return f"other tests in `{table_cell(self.test_file)}`"

    @property
    def warned(self) -> bool:
        """Passed, with warnings."""
        return self.outcome == "passed" and bool(self.warnings)


class DagCheckReport:
    """Collects test outcomes per DAG file and writes the markdown report at the end of the session.

    :param config: pytest's configuration.
    :param output: the markdown file to write.
    """

    def __init__(self, config: pytest.Config, output: Path) -> None:
        self.config = config
        self.output = output if output.is_absolute() else Path(config.invocation_params.dir) / output
        self.results: dict[str, CheckResult] = {}
        self.collection_errors: list[tuple[str, str]] = []
        self.warnings: dict[str, list[str]] = {}
        self.dags_folder = _dags_folder(config)
        self.written = False

    # -- collection (also runs on xdist workers, whose reports carry the DAG file to the controller) --

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        if not any(name == "dag_file" for name, _ in item.user_properties):
            dag_file = self._dag_file_of(item)
            if dag_file is not None:
                item.user_properties.append(("dag_file", dag_file))

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.collection_errors.append((report.nodeid or "(session)", _collection_message(report)))

    # -- outcomes --

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.get(report.nodeid)
        if result is None:
            dag_file = dict(report.user_properties).get("dag_file")
            test_file = Path(report.location[0]).name
            result = CheckResult(str(dag_file) if dag_file else None, test_file, _check_name(report.nodeid))
            self.results[report.nodeid] = result
        if report.failed:
            if result.outcome not in ("failed", "error"):
                result.outcome = "failed" if report.when == "call" else "error"
                result.message = _failure_message(report)
        elif report.skipped and result.outcome == "passed":
            result.outcome = "skipped"
            result.message = _skip_reason(report)

    def pytest_warning_recorded(
        self, warning_message: warnings.WarningMessage, when: str, nodeid: str, location: Any
    ) -> None:
        category = warning_message.category
        ours = issubclass(category, UserWarning) and not issubclass(category, pytest.PytestWarning)
        if when == "runtest" and nodeid and ours:
            self.warnings.setdefault(nodeid, []).append(str(warning_message.message))

    # -- output --

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if hasattr(self.config, "workerinput"):
            return  # an xdist worker: the controller writes the report
        for nodeid, messages in self.warnings.items():
            if nodeid in self.results:
                self.results[nodeid].warnings.extend(messages)
        self.output.parent.mkdir(parents=True, exist_ok=True)
        self.output.write_text(self.render(), encoding="utf-8")
        self.written = True

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.written:
            terminalreporter.write_line(f"Datacoves DAG check report: {self.output}")

    def render(self) -> str:
        """The report as markdown."""
        results = sorted(self.results.values(), key=lambda r: (r.row, r.check))
        lines = [self._headline(results), ""]
        if results:
            lines += self._table(results)
        if self.collection_errors:
            lines += [*([""] if lines[-1] else []), "### Errors while collecting the checks", ""]
            for nodeid, message in self.collection_errors:
                lines += [f"**`{table_cell(nodeid)}`**", "", *code_block(message), ""]
                if "include_examples" in message:
                    lines += [_INCLUDE_EXAMPLES_HINT, ""]
        failures = [r for r in results if r.outcome in ("failed", "error")]
        if failures:
            lines += [*([""] if lines[-1] else []), "### Failures", ""]
            for r in failures:
                label = " (error)" if r.outcome == "error" else ""
                lines += [f"**{r.row}** · `{r.check}`{label}", "", *code_block(r.message), ""]
        warned = [r for r in results if r.warned]
        if warned:
            lines += [*([""] if lines[-1] else []), "### Warnings", ""]
            for r in warned:
                lines += [f"- {r.row} · `{r.check}`: {table_cell(m)}" for m in dict.fromkeys(r.warnings)]
        skipped = [r for r in results if r.outcome == "skipped"]
        if skipped:
            lines += [*([""] if lines[-1] else []), "### Skipped", ""]
            lines += [f"- {r.row} · `{r.check}`: {table_cell(r.message)}" for r in skipped]
        text = "\n".join(lines).rstrip() + "\n"
        if len(text) > _MAX_REPORT:
            text = (
                text[:_MAX_REPORT].rsplit("\n", 1)[0]
                + "\n\n… (report shortened; the CI log has everything)\n"
            )
        return text

    def _headline(self, results: list[CheckResult]) -> str:
        failed = sum(r.outcome == "failed" for r in results)
        errors = sum(r.outcome == "error" for r in results) + len(self.collection_errors)
        warned = sum(r.warned for r in results)
        passed = sum(r.outcome == "passed" for r in results) - warned
        skipped = sum(r.outcome == "skipped" for r in results)
        icon = "❌" if failed or errors else "⚠️" if warned or not results else "✅"
        parts = [f"{failed} failed", f"{passed} passed"] if results else ["no checks ran"]
        parts += [f"{warned} warned"] if warned else []
        parts += [f"{skipped} skipped"] if skipped else []
        parts += [f"{errors} error{'s' if errors > 1 else ''}"] if errors else []
        return f"## {icon} DAG checks: {', '.join(parts)}"

    @staticmethod
    def _table(results: list[CheckResult]) -> list[str]:
        rows: dict[str, list[CheckResult]] = {}
        for r in results:
            rows.setdefault(r.row, []).append(r)
        dag_files = sum(1 for mine in rows.values() if mine[0].dag_file is not None)
        lines = [
            f"{dag_files} DAG file{'s' if dag_files != 1 else ''}, {len(results)} checks.",
            "",
            "| DAG file | result | passed | failed | warned | skipped |",
            "|---|:---:|---:|---|---|---:|",
        ]

        def order(row: str) -> tuple[int, str]:
            mine = rows[row]
            failing = any(r.outcome in ("failed", "error") for r in mine)
            return (0 if failing else 1 if any(r.warned for r in mine) else 2, row)

        for row in sorted(rows, key=order):
            mine = rows[row]
            failed = sorted({r.check for r in mine if r.outcome in ("failed", "error")})
            warned = sorted({r.check for r in mine if r.warned})
            passed = sum(r.outcome == "passed" and not r.warned for r in mine)
            skipped = sum(r.outcome == "skipped" for r in mine)
            mark = "❌" if failed else "⚠️" if warned else "✅"
            cells = [
                row,
                mark,
                str(passed),
                _names(failed),
                _names(warned),
                str(skipped or ""),
            ]
            lines.append(f"| {' | '.join(cells)} |")
        return lines

    def _dag_file_of(self, item: pytest.Item) -> str | None:
        """The DAG file a test is about, from its parameters."""
        params: dict[str, Any] = getattr(getattr(item, "callspec", None), "params", {})
        for value in params.values():
            named = getattr(value, "dag_file", None)
            if isinstance(named, str):
                return named
        for value in params.values():
            fileloc = getattr(value, "fileloc", None)
            if isinstance(fileloc, str) and fileloc:
                return self._display(Path(fileloc))
        for name in _PATH_PARAMETERS:
            value = params.get(name)
            if isinstance(value, str | os.PathLike) and str(value):
                return self._display(self._locate(Path(value)))
        return None

    def _locate(self, path: Path) -> Path:
        """An existing absolute path for ``path``, trying the places tests make paths relative to."""
        if path.is_absolute():
            return path
        bases = [Path(self.config.invocation_params.dir), self.config.rootpath]
        bases += [Path(os.environ["AIRFLOW_HOME"])] if os.environ.get("AIRFLOW_HOME") else []
        bases += [self.dags_folder] if self.dags_folder else []
        for base in bases:
            if (base / path).exists():
                return (base / path).resolve()
        return path

    def _display(self, path: Path) -> str:
        if not path.is_absolute():
            return str(path)
        for base in [self.dags_folder, self.config.rootpath]:
            if base is not None:
                with contextlib.suppress(ValueError):
                    return str(path.resolve().relative_to(base))
        return str(path)


# --- helpers ---------------------------------------------------------------------------------------


def _dags_folder(config: pytest.Config) -> Path | None:
    """The DAGs folder DAG paths are shown relative to: the checks' setting, else Airflow's env."""
    folder = ""
    with contextlib.suppress(ValueError):
        folder = str(config.getini("datacoves_dags_folder") or "").strip()
    if folder:
        base = Path(config.inipath).parent if config.inipath else Path(config.invocation_params.dir)
        return (base / os.path.expanduser(folder)).resolve()
    env = os.environ.get("AIRFLOW__CORE__DAGS_FOLDER")
    return Path(os.path.expanduser(env)).resolve() if env else None


def _check_name(nodeid: str) -> str:
    name = nodeid.split("::")[-1].split("[")[0]
    return name[len("test_") :] if name.startswith("test_") and len(name) > len("test_") else name


def _failure_message(report: pytest.TestReport) -> str:
    crash = getattr(report.longrepr, "reprcrash", None)
    message = getattr(crash, "message", None) or report.longreprtext
    message = re.sub(r"^(?:[\w.]*\.)?(?:AssertionError|Failed|DagCheckError): ", "", message.strip())
    if report.when != "call":
        message = f"during {report.when}: {message}"
    return _shorten(message)


def _skip_reason(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return f"expected to fail{': ' + report.wasxfail if report.wasxfail else ''}"
    if isinstance(report.longrepr, tuple):
        return re.sub(r"^Skipped: ", "", str(report.longrepr[2]))
    return table_cell(report.longreprtext)


def _collection_message(report: pytest.CollectReport) -> str:
    """The end of the collection error's traceback, where the exception is."""
    return _shorten("\n".join(report.longreprtext.strip().splitlines()[-20:]))


def _names(checks: list[str]) -> str:
    return ", ".join(f"`{c}`" for c in checks)


def _shorten(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "\n… (shortened)"
