"""The argument checks of the bash, dbt and data-sync operators and decorators, run when the DAG
is parsed (templated values once rendered, with the same messages): a bad argument fails the DAG
import with a message naming the task, the parameter and the fix, and never a secret value.

Errors are :class:`~datacoves_airflow_provider.exceptions.InvalidArgumentError` (a ``ValueError``)
and :class:`~datacoves_airflow_provider.exceptions.InvalidArgumentTypeError` (a ``TypeError``).
"""

from __future__ import annotations

import datetime
import os
import re
import warnings
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

if TYPE_CHECKING:
    from datacoves_airflow_provider.staging.repository import StagingPolicy

__all__ = [
    "DB_TYPES",
    "check_command",
    "check_data_sync_names",
    "check_db_sync_decorator_arguments",
    "check_db_type",
    "check_dbt_cwd",
    "check_env",
    "check_env_name",
    "check_expected_files",
    "check_flag",
    "check_lookback",
    "check_name",
    "check_no_nul",
    "check_output_encoding",
    "check_overrides_connection",
    "check_relative_path",
    "check_rendered_env",
    "check_skip_on_exit_code",
    "check_staging",
    "check_virtualenv",
    "check_warehouse",
    "is_template",
]

#: Destination kinds of the data sync; ``snowflake`` and ``redshift`` are the documented ones.
DB_TYPES = ("snowflake", "redshift", "postgres", "duckdb")

#: Characters an environment variable's name cannot hold: ``=`` ends the name, a NUL byte ends the
#: entry, and whitespace or control characters make a name no shell can refer to.
_BAD_ENV_NAME = re.compile(r"[=\s\x00-\x1f\x7f]")


def _not_a_name(value: object) -> bool:
    """Whether ``value`` is given (not None) but is not a non-blank string."""
    return value is not None and (not isinstance(value, str) or not value.strip())


def is_template(value: object) -> bool:
    """Whether ``value`` is text holding a Jinja expression or statement (checked once rendered).

    :param value: an argument as written in the DAG.
    """
    return isinstance(value, str) and ("{{" in value or "{%" in value)


# -- shared ------------------------------------------------------------------------------------


def check_no_nul(value: object, *, param: str, task_id: str) -> None:
    """Refuse a string holding a NUL byte: no command line, path or environment variable can hold
    one, so it would only fail when the command starts, with an error from deep inside Python.

    The message names the parameter, never the value (it may be a secret).

    :param value: the value (anything but a string passes).
    :param param: the parameter (and key) to name, e.g. ``env['API_KEY']``.
    :param task_id: named in the message.
    """
    if isinstance(value, str) and "\x00" in value:
        raise InvalidArgumentError(
            f"Task {task_id!r}: {param} contains a NUL byte (\\x00), which no command line, path or "
            "environment variable can hold; remove it (the value is not shown, it may be secret)"
        )


def check_flag(value: object, *, param: str, task_id: str, name_type: bool = False) -> None:
    """Refuse anything but ``True`` or ``False`` (``"no"`` would count as true).

    :param value: the argument as written in the DAG.
    :param param: the parameter's name, for the message.
    :param task_id: named in the message.
    :param name_type: name the value's type in the message too (the data sync's wording).
    """
    if not isinstance(value, bool):
        got = f"{type(value).__name__} {value!r}" if name_type else repr(value)
        raise InvalidArgumentTypeError(f"Task {task_id!r}: {param} must be True or False, got {got}")


def check_relative_path(value: object, *, param: str, task_id: str, rendered: bool = False) -> None:
    """Reject an absolute path, one that climbs out of the repository, or one with a NUL byte
    (literal values only, until ``rendered``).

    :param value: the path as written in the DAG (or as rendered).
    :param param: the parameter's name, for the message.
    :param task_id: named in the message.
    :param rendered: whether templates are rendered already.
    """
    if value is None or (not rendered and is_template(value)):
        return
    if not isinstance(value, str):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: {param} must be a string path, got {type(value).__name__}"
        )
    check_no_nul(value, param=param, task_id=task_id)
    if os.path.isabs(value):
        raise InvalidArgumentError(
            f"Task {task_id!r}: {param}={value!r} must be relative to the repository root "
            f"(e.g. 'transform' rather than '/opt/airflow/dags/repo/transform')"
        )
    if os.path.normpath(value).split(os.sep)[0] == "..":
        raise InvalidArgumentError(
            f"Task {task_id!r}: {param}={value!r} climbs out of the repository; remove the '..'"
        )


# -- bash ---------------------------------------------------------------------------------------


def check_env_name(key: object, *, task_id: str) -> None:
    """Refuse an ``env`` key that cannot be an environment variable's name.

    :param key: the key as written in the DAG (keys are not rendered).
    :param task_id: named in the message.
    """
    if not isinstance(key, str) or not key or _BAD_ENV_NAME.search(key):
        raise InvalidArgumentError(
            f"Task {task_id!r}: env has an invalid variable name {key!r}: a name is a non-empty string "
            "without '=', spaces, line breaks, control characters or NUL bytes, e.g. 'DBT_TARGET'"
        )


def check_env(env: object, *, task_id: str) -> None:
    """Check an ``env`` mapping at DAG parse time: a clear error beats a worker-side TypeError.

    Templated values are checked once rendered (:func:`check_rendered_env`), with the same messages.

    :param env: the ``env`` argument as the DAG author wrote it.
    :param task_id: named in the messages.
    """
    if env is None or is_template(env) or (not isinstance(env, Mapping) and hasattr(env, "resolve")):
        return  # nothing, a Jinja string or an XComArg: checked after rendering
    if not isinstance(env, Mapping):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: env must be a dict of variable names to string values, "
            f"got {type(env).__name__}"
        )
    for key, value in env.items():
        check_env_name(key, task_id=task_id)
        if value is None:
            raise InvalidArgumentError(
                f'Task {task_id!r}: env[{key!r}] is None. Give it a string value (use "" for an '
                f'empty one, or a template such as "{{{{ var.value.{key.lower()} }}}}") or remove it'
            )
        if isinstance(value, (bool, int, float)):
            raise InvalidArgumentTypeError(
                f"Task {task_id!r}: env[{key!r}] must be a string, got {type(value).__name__} "
                f"{value!r}; write {str(value)!r}"
            )
        if not is_template(value):
            check_no_nul(value, param=f"env[{key!r}]", task_id=task_id)
        if value == "":
            warnings.warn(
                f"Task {task_id!r}: env[{key!r}] is an empty string; the command will see it set but empty",
                UserWarning,
                # the frame it named in the operator's module, whose ``warnings`` Airflow's operator
                # metaclass wraps to skip its own frames
                stacklevel=5,
            )


def check_rendered_env(env: object, *, task_id: str) -> None:
    """The checks of :func:`check_env` that templated values could not get at parse time: variable
    names and NUL bytes, once ``env`` is rendered (other problems are reported by ``build_env``).

    :param env: the rendered ``env``.
    :param task_id: named in the messages.
    """
    if not isinstance(env, Mapping):
        return
    for key, value in env.items():
        check_env_name(key, task_id=task_id)
        check_no_nul(value, param=f"env[{key!r}]", task_id=task_id)


def check_command(command: object, *, task_id: str, rendered: bool = False) -> str:
    """Return ``command`` if it is a non-blank string without NUL bytes, else raise an error that says so.

    :param command: the bash command.
    :param task_id: named in the message.
    :param rendered: whether templates are rendered already (a template is checked for NUL bytes
        only then).
    """
    if not isinstance(command, str):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: the bash command must be a string, got {type(command).__name__} {command!r}"
        )
    if not command.strip():
        raise InvalidArgumentError(f"Task {task_id!r}: the bash command is blank; give the command to run")
    if rendered or not is_template(command):
        check_no_nul(command, param="bash_command", task_id=task_id)
    return command


def check_skip_on_exit_code(value: object, *, task_id: str) -> None:
    """Check ``skip_on_exit_code``: None, an exit code, or a collection of exit codes (a string such as
    ``"99"`` would only fail when the command ends, with a TypeError from deep inside BashOperator).

    :param value: the argument as written in the DAG.
    :param task_id: named in the message.
    """
    if value is None:
        return
    codes = [value] if isinstance(value, int) else value
    if (
        isinstance(value, (str, bytes, Mapping))
        or not isinstance(codes, Iterable)
        or any(isinstance(code, bool) or not isinstance(code, int) for code in codes)
    ):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: skip_on_exit_code must be an exit code or a list of exit codes "
            f"(whole numbers, e.g. 99 or [99, 100]) or None, got {value!r}"
        )


def check_output_encoding(value: object, *, task_id: str) -> None:
    """Check ``output_encoding`` names a codec Python knows (else decoding the output fails mid-run).

    :param value: the argument as written in the DAG.
    :param task_id: named in the message.
    """
    import codecs

    try:
        if not isinstance(value, str) or not getattr(codecs.lookup(value), "_is_text_encoding", True):
            raise LookupError(value)
    except LookupError:
        raise InvalidArgumentError(
            f"Task {task_id!r}: output_encoding={value!r} is not a text encoding Python knows; "
            "use e.g. 'utf-8' (the default) or 'latin-1'"
        ) from None


def check_virtualenv(virtualenv: object, *, task_id: str) -> None:
    """Refuse a ``virtualenv`` that is not a non-empty path, or holds a NUL byte (literal values only).

    :param virtualenv: the argument as written in the DAG.
    :param task_id: named in the message.
    """
    if _not_a_name(virtualenv):
        raise InvalidArgumentError(
            f"Task {task_id!r}: virtualenv must be a non-empty path, got {virtualenv!r}"
        )
    if not is_template(virtualenv):
        check_no_nul(virtualenv, param="virtualenv", task_id=task_id)


def check_staging(staging: StagingPolicy | Mapping[str, Any] | None, *, task_id: str) -> StagingPolicy:
    """The ``staging`` argument as a
    :class:`~datacoves_airflow_provider.staging.repository.StagingPolicy`; its errors name the task.

    :param staging: a ``StagingPolicy``, a dict of its fields, or None for the default.
    :param task_id: named in the message.
    """
    from datacoves_airflow_provider.staging.repository import StagingPolicy

    try:
        return StagingPolicy.coerce(staging)
    except TypeError as exc:
        raise InvalidArgumentTypeError(f"Task {task_id!r}: {exc}") from None
    except ValueError as exc:
        raise InvalidArgumentError(f"Task {task_id!r}: {exc}") from None


# -- dbt ----------------------------------------------------------------------------------------


def check_name(value: object, *, param: str, task_id: str, example: str) -> None:
    """Refuse anything but None or a non-blank string (a connection id, a target name).

    :param value: the argument as written in the DAG.
    :param param: the parameter's name, for the message.
    :param task_id: named in the message.
    :param example: a good value, for the message.
    """
    if _not_a_name(value):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: {param} must be a non-empty string such as {example!r}, got {value!r}"
        )


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


# -- data sync ----------------------------------------------------------------------------------


def check_db_type(db_type: Any, task_id: str = "?") -> str:
    """Return ``db_type`` lower-cased if it is a supported destination, else raise naming the choices.

    :param db_type: the destination kind the DAG asked for.
    :param task_id: the task, for the message.
    """
    if not isinstance(db_type, str) or db_type.strip().lower() not in DB_TYPES:
        raise InvalidArgumentError(
            f"Task {task_id!r}: db_type={db_type!r} is not supported; use one of "
            f"{', '.join(repr(t) for t in DB_TYPES)} (case does not matter)"
        )
    return db_type.strip().lower()


def check_data_sync_names(
    *,
    task_id: str,
    db_type: str,
    service_db_types: Collection[str],
    source_connection_id: object,
    connection_id: object,
    service_connection_name: object,
    destination_schema: object,
) -> None:
    """Check the data sync's source connection, and that it names its destination: an Airflow
    connection, or a service connection for a destination kind that has them, and a schema.

    :param task_id: named in the message.
    :param db_type: the checked destination kind (see :func:`check_db_type`).
    :param service_db_types: the destination kinds a service connection can reach.
    :param source_connection_id: see the operator.
    :param connection_id: see the operator.
    :param service_connection_name: see the operator.
    :param destination_schema: see the operator.
    """
    if _not_a_name(source_connection_id):
        raise InvalidArgumentError(
            f"Task {task_id!r}: source_connection_id must name the connection to Airflow's "
            f"database, e.g. 'airflow_db', got {source_connection_id!r}; leave it out to use "
            "Airflow's own configuration"
        )
    if _not_a_name(connection_id):
        raise InvalidArgumentError(
            f"Task {task_id!r}: connection_id must be a connection name, got {connection_id!r}"
        )
    if connection_id is None and service_connection_name is None:
        raise InvalidArgumentError(
            f"Task {task_id!r}: name the destination: connection_id='<Airflow connection>'"
            + (" or service_connection_name='<service connection>'" if db_type in service_db_types else "")
        )
    if connection_id is None and db_type not in service_db_types:
        raise InvalidArgumentError(
            f"Task {task_id!r}: service connections exist for Snowflake and Redshift only; "
            f"give db_type={db_type!r} an Airflow connection with connection_id="
        )
    if _not_a_name(service_connection_name):
        raise InvalidArgumentError(
            f"Task {task_id!r}: service_connection_name must be a name like 'airflow_db_load', "
            f"got {service_connection_name!r}"
        )
    if _not_a_name(destination_schema):
        raise InvalidArgumentError(
            f"Task {task_id!r}: destination_schema must be a non-empty schema name, got "
            f"{destination_schema!r}; leave it out for the default airflow-<environment slug>"
        )


def check_lookback(value: object, *, task_id: str) -> datetime.timedelta:
    """``incremental_lookback`` as a ``timedelta`` (a number is seconds); a negative one is refused.

    :param value: the argument as written in the DAG.
    :param task_id: named in the message.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = datetime.timedelta(seconds=value)
    if not isinstance(value, datetime.timedelta) or value.total_seconds() < 0:
        raise InvalidArgumentError(
            f"Task {task_id!r}: incremental_lookback must be a non-negative timedelta or "
            f"number of seconds, got {value!r}"
        )
    return value


def check_warehouse(given: object, *, warehouse: str, task_id: str) -> None:
    """Refuse a ``db_type`` that contradicts the documented operator's own warehouse.

    :param given: the ``db_type`` the DAG passed (the warehouse itself when it passed none).
    :param warehouse: the operator's destination kind.
    :param task_id: named in the message.
    """
    if not isinstance(given, str) or given.strip().lower() != warehouse:
        raise InvalidArgumentError(
            f"Task {task_id!r}: this operator syncs to {warehouse}; db_type={given!r} "
            "contradicts it. Use DatacovesDataSyncOperator (or @task.datacoves_airflow_db_sync) with "
            "that db_type"
        )


def check_db_sync_decorator_arguments(kwargs: Mapping[str, Any]) -> str:
    """The checked ``db_type`` of ``@task.datacoves_airflow_db_sync``, which needs one.

    :param kwargs: the decorator's keyword arguments.
    """
    if "db_type" not in kwargs:
        raise InvalidArgumentError(
            "@task.datacoves_airflow_db_sync needs db_type='snowflake' or 'redshift' (or 'postgres', "
            "'duckdb') and connection_id='<Airflow connection>'"
        )
    return check_db_type(kwargs["db_type"], kwargs.get("task_id", "?"))
