"""Type names the dialects share the shape of: a sized string, a number with precision and scale."""

from __future__ import annotations

from datacoves_airflow_provider.data_sync.table_specs import ColumnSpec

__all__ = ["numeric_type", "varchar_type"]


def varchar_type(column: ColumnSpec, unsized: str) -> str:
    """``VARCHAR(<length>)`` for a string column with a length, else ``unsized``.

    :param column: the column.
    :param unsized: the dialect's type for a string without a length.
    """
    return f"VARCHAR({column.length})" if column.length else unsized


def numeric_type(column: ColumnSpec, name: str, unsized: str) -> str:
    """``<name>(<precision>, <scale>)`` for a number column with a precision, else ``unsized``.

    :param column: the column.
    :param name: the dialect's exact numeric type (``NUMERIC``, ``NUMBER``, ``DECIMAL``).
    :param unsized: the dialect's type for a number without a precision.
    """
    return f"{name}({column.precision}, {column.scale or 0})" if column.precision else unsized
