"""Small DAG validators for your own pytest files: each raises :class:`DagCheckError` or warns.

::

    from datacoves_airflow_provider.testing.dag_loader import load_dag_bag
    from datacoves_airflow_provider.testing import dag_validators as checks

    DAG_BAG = load_dag_bag()

    @pytest.mark.parametrize("dag", DAG_BAG.dags.values(), ids=lambda d: d.dag_id)
    def test_dag_rules(dag):
        checks.check_tags(dag, approved_tags={"transform", "extract_and_load"})
        checks.check_catchup_false(dag)
        checks.check_retries(dag)          # below 1 fails, below 3 warns

A failure is a :class:`DagCheckError` (an ``AssertionError``, so pytest reports it as a failed
test); a warning is a :class:`DagCheckWarning` (a ``UserWarning``), which the report plugin lists
as "warned". The ready-made module :mod:`datacoves_airflow_provider.testing.dag_checks` runs all of
them with settings from pytest's ini file.
"""

from __future__ import annotations

import functools
import os
import warnings
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.testing.dag_file_analysis import (
    SourceFinding,
    dynamic_start_dates,
    parse_time_calls,
    schedule_interval_uses,
)

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import DAG

__all__ = [
    "DagCheckError",
    "DagCheckWarning",
    "check_catchup_false",
    "check_import_errors",
    "check_no_parse_time_calls",
    "check_no_schedule_interval",
    "check_owner",
    "check_retries",
    "check_start_date_not_dynamic",
    "check_tags",
    "check_task_types",
]


class DagCheckError(DatacovesError, AssertionError):
    """A DAG breaks a rule."""


class DagCheckWarning(UserWarning):
    """A DAG works but falls short of a recommendation."""


def check_import_errors(
    import_errors: Mapping[str, str], dag_file: str | os.PathLike[str] | None = None
) -> None:
    """Fail when a DagBag recorded an import error: for ``dag_file`` only, or for any file.

    :param import_errors: ``DagBag.import_errors`` (file path -> error text).
    :param dag_file: the file to look at; None checks every file.
    """
    if dag_file is None:
        errors = dict(import_errors)
    else:
        wanted = Path(dag_file).resolve()
        errors = {path: text for path, text in import_errors.items() if Path(path).resolve() == wanted}
    if errors:
        parts = [
            f"{Path(path).name} failed to import:\n{str(text).strip()}"
            for path, text in sorted(errors.items())
        ]
        raise DagCheckError("\n\n".join(parts))


def check_tags(dag: DAG, approved_tags: Collection[str] | None = None) -> None:
    """Fail when the DAG has no tags, or a tag outside ``approved_tags``.

    :param dag: the DAG.
    :param approved_tags: the tags DAGs may use; None or empty allows any tag (one is still required).
    """
    tags = sorted(dag.tags or [])
    if not tags:
        raise DagCheckError(f"{_label(dag)} has no tags")
    unapproved = [tag for tag in tags if approved_tags and tag not in approved_tags]
    if unapproved:
        raise DagCheckError(f"{_label(dag)} has tags outside the approved set: {', '.join(unapproved)}")


def check_catchup_false(dag: DAG) -> None:
    """Fail when the DAG catches up (``catchup=True``, or the ``catchup_by_default`` it inherits).

    :param dag: the DAG.
    """
    if dag.catchup:
        raise DagCheckError(f"{_label(dag)} must set catchup=False")


def check_task_types(dag: DAG, allowed_task_types: Collection[str]) -> None:
    """Fail when a task's type (its operator class name) is not allowed.

    Decorated tasks have their decorator's class name: ``_PythonDecoratedOperator`` for ``@task``,
    ``_DatacovesBashDecoratedOperator`` for ``@task.datacoves_bash``,
    ``_DatacovesDbtDecoratedOperator`` for ``@task.datacoves_dbt``.

    :param dag: the DAG.
    :param allowed_task_types: the allowed class names.
    """
    offenders = [
        f"{task.task_id} ({task.task_type})" for task in dag.tasks if task.task_type not in allowed_task_types
    ]
    if offenders:
        raise DagCheckError(f"{_label(dag)} uses task types that are not allowed: {', '.join(offenders)}")


def check_retries(dag: DAG, *, minimum: int = 1, recommended: int = 3) -> None:
    """Fail when a task retries fewer than ``minimum`` times; warn below ``recommended``.

    Looks at each task's effective ``retries`` (task argument, else ``default_args``, else
    ``[core] default_task_retries``); a DAG without tasks is judged by its ``default_args``.

    :param dag: the DAG.
    :param minimum: fewer retries than this fails.
    :param recommended: fewer retries than this warns.
    """
    if dag.tasks:
        retries = {task.task_id: int(task.retries or 0) for task in dag.tasks}
    else:
        retries = {"default_args": int((dag.default_args or {}).get("retries") or 0)}
    too_few = _grouped({k: v for k, v in retries.items() if v < minimum})
    if too_few:
        raise DagCheckError(f"{_label(dag)} must set retries >= {minimum}; tasks below: {too_few}")
    below = _grouped({k: v for k, v in retries.items() if v < recommended})
    if below:
        warnings.warn(
            DagCheckWarning(f"{_label(dag)} should set retries >= {recommended}; tasks below: {below}"),
            stacklevel=2,
        )


def check_owner(dag: DAG) -> None:
    """Fail when a task has no owner of its own (Airflow's default owner, usually "airflow", counts as none).

    :param dag: the DAG.
    """
    from datacoves_airflow_provider.compat import conf

    default_owner = conf.get("operators", "default_owner", fallback="airflow")
    missing = [task.task_id for task in dag.tasks if not task.owner or task.owner == default_owner]
    if missing:
        raise DagCheckError(
            f"{_label(dag)} must name an owner (default_args={{'owner': ...}}); "
            f"task(s) without one: {', '.join(missing)}"
        )


def check_start_date_not_dynamic(dag: DAG) -> None:
    """Fail when a start date is computed from the clock when the file is parsed.

    Reads the DAG file's source for ``start_date`` values built with ``datetime.now()``,
    ``days_ago()``, ``pendulum.today()`` and the like (directly or through a module-level name),
    and fails start dates with sub-second precision (what ``datetime.now()`` in a helper module
    gives). A start date that moves makes the scheduler's idea of the next run move with it.

    :param dag: the DAG.
    """
    problems = [f"line {f.line}: {f.code} ({f.detail})" for f in _findings(dag.fileloc, "start_date")]
    if not problems:  # nothing in this file's source: maybe a helper module's
        dates: list[tuple[str, Any]] = [
            ("the DAG's", dag.start_date),
            ("default_args'", (dag.default_args or {}).get("start_date")),
        ]
        dates += [(f"task {task.task_id}'s", task.start_date) for task in dag.tasks]
        for owner, value in dates:
            if getattr(value, "microsecond", 0):
                problems.append(
                    f"{owner} start_date {value} has sub-second precision: it comes from the clock"
                )
                break
    if problems:
        raise DagCheckError(
            f"{_label(dag)} has a dynamic start_date; use a fixed date:\n" + "\n".join(problems)
        )


def check_no_schedule_interval(dag_file: str | os.PathLike[str]) -> None:
    """Fail on Airflow 3 (warn on 2.x) when the file passes ``schedule_interval``; use ``schedule``.

    :param dag_file: the DAG file.
    """
    from datacoves_airflow_provider.compat import AIRFLOW_V_3_0_PLUS

    findings = _findings(dag_file, "schedule_interval")
    if not findings:
        return
    where = ", ".join(f"line {f.line}" for f in findings)
    message = (
        f"{Path(dag_file).name} uses schedule_interval ({where}), which Airflow 3 removed: use schedule="
    )
    if AIRFLOW_V_3_0_PLUS:
        raise DagCheckError(message)
    warnings.warn(DagCheckWarning(message), stacklevel=2)


def check_no_parse_time_calls(dag_file: str | os.PathLike[str]) -> None:
    """Fail when the file's parse-time code reads Variables / Connections or reaches the database or network.

    Static analysis of this file only; ``datacoves-test-dags --check-variable-usage`` also watches
    the import, which catches such calls in helper modules.

    :param dag_file: the DAG file.
    """
    findings = _findings(dag_file, "calls")
    if findings:
        lines = "\n".join(f"line {f.line}: {f.code}" for f in findings)
        raise DagCheckError(
            f"{Path(dag_file).name} makes these calls every time it is parsed; move them into a task or "
            f"use {{{{ var.value.<key> }}}} in a templated field:\n{lines}"
        )


def _label(dag: DAG) -> str:
    return f"{dag.dag_id} ({Path(dag.fileloc).name})" if dag.fileloc else dag.dag_id


def _grouped(values: Mapping[str, int]) -> str:
    """{"a": 0, "b": 0, "c": 1} -> "a, b (0); c (1)"."""
    by_value: dict[int, list[str]] = {}
    for name, value in values.items():
        by_value.setdefault(value, []).append(name)
    return "; ".join(f"{', '.join(names)} ({value})" for value, names in sorted(by_value.items()))


def _findings(dag_file: str | os.PathLike[str] | None, what: str) -> tuple[SourceFinding, ...]:
    """Static findings for a file; nothing when it cannot be read or parsed (the import check says why)."""
    if not dag_file:
        return ()
    path = Path(dag_file)
    try:
        return _cached_findings(str(path.resolve()), path.stat().st_mtime_ns, what)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return ()


@functools.lru_cache(maxsize=1024)
def _cached_findings(path: str, mtime_ns: int, what: str) -> tuple[SourceFinding, ...]:
    source = Path(path).read_text(encoding="utf-8")
    analysis = {
        "start_date": dynamic_start_dates,
        "schedule_interval": schedule_interval_uses,
        "calls": parse_time_calls,
    }
    return tuple(analysis[what](source, path))
