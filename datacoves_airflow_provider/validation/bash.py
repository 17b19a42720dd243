"""The checks of ``DatacovesBashOperator``'s arguments (and so of every operator built on it)."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError
from datacoves_airflow_provider.validation.common import check_no_nul, is_template, not_a_name

if TYPE_CHECKING:
    from datacoves_airflow_provider.staging.repository import StagingPolicy

__all__ = [
    "check_command",
    "check_env",
    "check_env_name",
    "check_output_encoding",
    "check_rendered_env",
    "check_skip_on_exit_code",
    "check_staging",
    "check_virtualenv",
]

#: Characters an environment variable's name cannot hold: ``=`` ends the name, a NUL byte ends the
#: entry, and whitespace or control characters make a name no shell can refer to.
_BAD_ENV_NAME = re.compile(r"[=\s\x00-\x1f\x7f]")


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
    if not_a_name(virtualenv):
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
