"""Checks every operator uses: text that is a template, NUL bytes, flags, names and relative paths."""

from __future__ import annotations

import os

from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

__all__ = [
    "check_flag",
    "check_name",
    "check_no_nul",
    "check_relative_path",
    "is_template",
    "not_a_name",
]


def not_a_name(value: object) -> bool:
    """Whether ``value`` is given (not None) but is not a non-blank string."""
    return value is not None and (not isinstance(value, str) or not value.strip())


def is_template(value: object) -> bool:
    """Whether ``value`` is text holding a Jinja expression or statement (checked once rendered).

    :param value: an argument as written in the DAG.
    """
    return isinstance(value, str) and ("{{" in value or "{%" in value)


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


def check_name(value: object, *, param: str, task_id: str, example: str) -> None:
    """Refuse anything but None or a non-blank string (a connection id, a target name).

    :param value: the argument as written in the DAG.
    :param param: the parameter's name, for the message.
    :param task_id: named in the message.
    :param example: a good value, for the message.
    """
    if not_a_name(value):
        raise InvalidArgumentTypeError(
            f"Task {task_id!r}: {param} must be a non-empty string such as {example!r}, got {value!r}"
        )


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
