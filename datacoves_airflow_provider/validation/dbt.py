"""The checks of ``DatacovesDbtOperator``'s own arguments and of ``@task.datacoves_dbt``'s
``expected_files`` (the artifact arguments are checked by
:meth:`~datacoves_airflow_provider.dbt.artifacts.ArtifactOptions.checked`)."""

from __future__ import annotations

from collections.abc import Collection

from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "check_dbt_cwd",
    "check_expected_files",
    "check_overrides_connection",
]


def check_dbt_cwd(cwd: object, *, task_id: str) -> None:
    """Refuse ``cwd``: the dbt operator runs in ``project_dir``.

    :param cwd: the ``cwd`` argument, None when not given.
    :param task_id: named in the message.
    """
    if cwd is not None:
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: DatacovesDbtOperator runs in the dbt project folder; "
            f"pass project_dir={cwd!r} instead of cwd"
        )


def check_overrides_connection(overrides: object, connection_id: object, *, task_id: str) -> None:
    """Refuse ``overrides`` without ``connection_id``: they apply to the profile built from it.

    :param overrides: the ``overrides`` argument.
    :param connection_id: the ``connection_id`` argument.
    :param task_id: named in the message.
    """
    if overrides and connection_id is None:
        raise InvalidArgumentError(
            f"Task {task_id!r}: overrides apply to the profile built from connection_id; "
            "pass connection_id too, or set these values in your profiles.yml"
        )


def check_expected_files(expected: object, downloadable: Collection[str], *, task_id: str) -> None:
    """Refuse ``expected_files`` (the ``@task.datacoves_dbt`` function's keyword argument) that name
    a file the task never downloads.

    :param expected: the ``expected_files`` the DAG passes to the function.
    :param downloadable: the names the task may download.
    :param task_id: named in the message.
    """
    from datacoves_airflow_provider.dbt.artifacts import reduce_expected_files

    if isinstance(expected, (list, tuple)) and all(isinstance(f, str) for f in expected):
        reachable = reduce_expected_files(expected, sorted(downloadable))
        never = [f for f in expected if f not in reachable]
        if never:
            raise InvalidArgumentError(
                f"Task {task_id!r}: expected_files lists {', '.join(never)}, which this task never "
                "downloads; for run_results.json set dbt_api_enabled=True and download_run_results=True "
                "(sources.json: download_sources_json=True; other files: download_additional_files)"
            )
