"""Settings of the ready-made DAG checks, read from pytest's ini file (or ``-o name=value``).

In ``pytest.ini`` (or ``[tool.pytest.ini_options]`` in pyproject.toml, ``tox.ini``,
``setup.cfg``) at the root you run pytest from::

    [pytest]
    datacoves_dags_folder = orchestrate/dags
    datacoves_approved_tags = extract_and_load transform python_script sample
    datacoves_allowed_task_types =
        _PythonDecoratedOperator
        _DatacovesBashDecoratedOperator
        _DatacovesDbtDecoratedOperator
        DatacovesBashOperator
        DatacovesDbtOperator
    datacoves_min_retries = 1
    datacoves_recommended_retries = 3
    datacoves_skip_checks = owner:legacy/*.py

The plugin (:mod:`datacoves_airflow_provider.testing.custom_reporter`, loaded through its
``pytest11`` entry point or a ``conftest.py``) declares these names, so pytest knows them.
"""

from __future__ import annotations

import fnmatch
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.exceptions import InvalidArgumentError

__all__ = ["CHECK_NAMES", "INI_OPTIONS", "DagCheckSettings", "add_ini_options", "settings_from_pytest_config"]

#: The ready-made checks, by the name ``datacoves_skip_checks`` and the report use.
CHECK_NAMES = (
    "imports",
    "schedule_interval",
    "parse_time_calls",
    "tags",
    "catchup",
    "task_types",
    "retries",
    "owner",
    "start_date",
)

#: name -> (help, pytest ini type, default)
INI_OPTIONS: dict[str, tuple[str, str, Any]] = {
    "datacoves_dags_folder": (
        "DAGs folder the Datacoves DAG checks load, relative to the ini file "
        "(default: Airflow's [core] dags_folder)",
        "string",
        "",
    ),
    "datacoves_approved_tags": ("Tags DAGs may use (empty: any tag, but at least one)", "args", []),
    "datacoves_allowed_task_types": (
        "Task types (operator class names) DAGs may use (empty: the task_types check is skipped)",
        "args",
        [],
    ),
    "datacoves_min_retries": ("Tasks retrying fewer times fail the retries check", "string", "1"),
    "datacoves_recommended_retries": ("Tasks retrying fewer times warn in the retries check", "string", "3"),
    "datacoves_skip_checks": (
        f"Checks to skip: NAME, or NAME:GLOB for DAG files matching GLOB. Names: {', '.join(CHECK_NAMES)}",
        "args",
        [],
    ),
}


@dataclass(frozen=True)
class DagCheckSettings:
    """What the ready-made checks enforce.

    :param dags_folder: the folder to load; None means Airflow's ``[core] dags_folder``.
    :param approved_tags: allowed tags; empty allows any (one tag is still required).
    :param allowed_task_types: allowed operator class names; empty skips the check.
    :param min_retries: fewer retries fail.
    :param recommended_retries: fewer retries warn.
    :param skip_checks: ``NAME`` or ``NAME:GLOB`` entries.
    """

    dags_folder: Path | None = None
    approved_tags: frozenset[str] = frozenset()
    allowed_task_types: frozenset[str] = frozenset()
    min_retries: int = 1
    recommended_retries: int = 3
    skip_checks: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = sorted({entry.split(":", 1)[0] for entry in self.skip_checks} - set(CHECK_NAMES))
        if unknown:
            raise InvalidArgumentError(
                f"datacoves_skip_checks names unknown check(s) {', '.join(unknown)}; "
                f"known: {', '.join(CHECK_NAMES)}"
            )

    def skip_reason(self, check: str, dag_file: str) -> str | None:
        """Why ``check`` is skipped for ``dag_file`` (relative to the DAGs folder), or None.

        :param check: one of :data:`CHECK_NAMES`.
        :param dag_file: the DAG file, relative to the DAGs folder.
        """
        for entry in self.skip_checks:
            name, _, pattern = entry.partition(":")
            if name == check and (not pattern or fnmatch.fnmatch(dag_file, pattern)):
                return f"skipped by datacoves_skip_checks ({entry})"
        return None


def add_ini_options(parser: Any) -> None:
    """Declare the settings on pytest's parser (called from the plugin's ``pytest_addoption``).

    :param parser: pytest's ``Parser``.
    """
    for name, (help_text, ini_type, default) in INI_OPTIONS.items():
        parser.addini(name, help_text, type=ini_type, default=default)


def settings_from_pytest_config(config: Any) -> DagCheckSettings:
    """Read the settings from pytest's configuration.

    :param config: pytest's ``Config``.
    :raises ValueError: for a bad value, or when the plugin did not declare the settings.
    """
    try:
        values = {name: config.getini(name) for name in INI_OPTIONS}
    except ValueError as exc:
        raise InvalidArgumentError(
            f"{exc}: the Datacoves pytest plugin is not loaded (plugin autoloading disabled?); "
            "add -p datacoves_airflow_provider.testing.custom_reporter"
        ) from exc
    folder = str(values["datacoves_dags_folder"]).strip()
    base = (
        Path(config.inipath).parent
        if getattr(config, "inipath", None)
        else Path(config.invocation_params.dir)
    )
    return DagCheckSettings(
        dags_folder=(base / os.path.expanduser(folder)).resolve() if folder else None,
        approved_tags=frozenset(values["datacoves_approved_tags"]),
        allowed_task_types=frozenset(values["datacoves_allowed_task_types"]),
        min_retries=_integer(values["datacoves_min_retries"], "datacoves_min_retries"),
        recommended_retries=_integer(
            values["datacoves_recommended_retries"], "datacoves_recommended_retries"
        ),
        skip_checks=tuple(values["datacoves_skip_checks"]),
    )


def _integer(value: Any, name: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidArgumentError(f"{name} must be a whole number, not {value!r}") from None
