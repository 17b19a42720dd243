"""``overrides``: checked as written in the DAG, and read back when a template rendered them to text."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import DbtProfileError
from datacoves_airflow_provider.dbt.profiles.registry import SECRET_FIELDS
from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError

#: Fields that must be a single value when given in ``overrides``.
_SCALAR_FIELDS = frozenset(
    {
        "account", "user", "password", "role", "warehouse", "database", "schema", "threads", "host",
        "port", "dbname", "dataset", "project", "catalog", "path", "http_path", "token", "method",
        "authenticator", "location", "protocol", "private_key", "private_key_path",
        "private_key_passphrase", "sslmode", "keyfile",
    }
)  # fmt: skip
#: Text dbt would read as Jinja.
JINJA = re.compile(r"{{|{%|{#")


def parse_overrides_text(text: str) -> Any:
    """``overrides`` that a template rendered to text, read back as JSON or a Python literal
    (``"{{ var.json.dbt_overrides }}"`` renders a dict's repr); None for empty text.

    The error never quotes the text: it may hold a password.

    :param text: the rendered text.
    """
    import ast

    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise DbtProfileError(
            f"overrides rendered to text ({len(text)} characters, not shown: it may hold a secret) that "
            "is neither a JSON object nor a Python dict; make the template render a dict of profile "
            'fields, e.g. overrides="{{ var.value.dbt_overrides }}" with the variable holding '
            '{"warehouse": "big_wh"}'
        ) from None


def _is_template(value: object) -> bool:
    return isinstance(value, str) and bool(JINJA.search(value))


def _shown(value: object, secret: bool) -> str:
    """``value`` for an error message: its repr, cut short; never under a secret field."""
    return "value not shown: a secret field" if secret else f"{value!r:.80}"


def _check_value(value: object, where: str, owner: str, secret: bool) -> None:
    if value is None:
        raise InvalidArgumentError(f"{owner}{where} is None; give it a value or leave the key out")
    if isinstance(value, (str, int, float, bool)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]", owner, secret)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidArgumentTypeError(f"{owner}{where} has a non-string key {key!r}")
            _check_value(item, f"{where}[{key!r}]", owner, secret or key in SECRET_FIELDS)
        return
    raise InvalidArgumentTypeError(
        f"{owner}{where} is a {type(value).__name__} ({_shown(value, secret)}); profile values must be "
        "strings, numbers, booleans, or lists/dicts of them"
    )


def check_overrides(overrides: object, *, task_id: str | None) -> None:
    """Check ``overrides`` as written in the DAG, so a mistake fails the DAG parse, not the run.

    :param overrides: the ``overrides`` argument (templates and XComArgs are checked at run time).
    :param task_id: named in the messages.
    """
    owner = f"Task {task_id!r}: overrides" if task_id else "overrides"
    if overrides is None or _is_template(overrides) or hasattr(overrides, "resolve"):
        return
    if not isinstance(overrides, Mapping):
        raise InvalidArgumentTypeError(
            f"{owner} must be a dict of dbt profile fields, e.g. {{'warehouse': 'big_wh'}}; "
            f"got {type(overrides).__name__}"
        )
    for key, value in overrides.items():
        if not isinstance(key, str) or not key.strip():
            raise InvalidArgumentTypeError(
                f"{owner} has an invalid field name {key!r}; use dbt profile field names"
            )
        if key == "type":
            raise InvalidArgumentError(
                f"{owner} cannot change the adapter 'type'; use a connection of the type you want"
            )
        secret = key in SECRET_FIELDS
        _check_value(value, f"[{key!r}]", owner, secret)
        if key in _SCALAR_FIELDS and isinstance(value, (list, dict)):
            raise InvalidArgumentTypeError(
                f"{owner}[{key!r}] must be a single value, "
                f"got {type(value).__name__} ({_shown(value, secret)})"
            )
        if key == "threads" and not _is_template(value):
            ok = (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
                isinstance(value, str) and value.strip().isdigit() and int(value) > 0
            )
            if not ok:
                raise InvalidArgumentError(
                    f"{owner}['threads'] must be a positive whole number, got {value!r}"
                )
