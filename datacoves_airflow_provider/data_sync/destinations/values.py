"""The values the sync binds: a source driver's value made portable, a row's size, a cursor in UTC."""

from __future__ import annotations

import datetime
import json
from typing import Any

from datacoves_airflow_provider.data_sync.table_specs import ColumnKind
from datacoves_airflow_provider.exceptions import InvalidArgumentTypeError

__all__ = ["approximate_size", "iso_utc", "normalise_value"]


def normalise_value(value: Any, kind: ColumnKind) -> Any:
    """Turn a source driver's value into one every destination driver binds the same way.

    JSON becomes its text, binary becomes ``bytes``, UUIDs and intervals become strings, naive
    timestamps of a time-zone column are taken as UTC (Airflow stores UTC). SQLite hands its
    declared types over as storage classes: a boolean arrives as 0 or 1 and becomes ``bool``, a
    timestamp or date arrives as ISO text and becomes ``datetime`` / ``date``.

    :param value: the value from the source driver.
    :param kind: the column's kind.
    """
    if value is None:
        return None
    if kind is ColumnKind.BOOLEAN and not isinstance(value, bool):
        return bool(value)
    if kind in (ColumnKind.TIMESTAMP_TZ, ColumnKind.TIMESTAMP) and isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if kind is ColumnKind.DATE and isinstance(value, str):
        return datetime.date.fromisoformat(value)
    if kind is ColumnKind.JSON:
        return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))
    if kind is ColumnKind.BINARY:
        return bytes(value)
    if kind is ColumnKind.UUID:
        return str(value)
    if kind is ColumnKind.INTERVAL:
        return str(value)
    if kind is ColumnKind.TIMESTAMP_TZ and isinstance(value, datetime.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    if kind is ColumnKind.STRING and not isinstance(value, str):
        return str(value)
    return value


def approximate_size(row: tuple[Any, ...]) -> int:
    """About how many bytes a row of bound values takes (strings and bytes by length, the rest 8).

    :param row: the row's values.
    """
    size = 0
    for value in row:
        if value is None:
            continue
        size += len(value) if isinstance(value, (str, bytes)) else 8
    return size


def iso_utc(value: Any) -> str | None:
    """A cursor value read from a destination as ISO 8601 in UTC (a naive timestamp is UTC).

    :param value: a ``datetime``, its ISO text, or None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.astimezone(datetime.timezone.utc).isoformat()
    raise InvalidArgumentTypeError(f"cursor value {value!r} is not a timestamp")
