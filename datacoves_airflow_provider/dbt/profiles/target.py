"""The dbt target for an Airflow connection."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfileError
from datacoves_airflow_provider.dbt.profiles.registry import (
    SUPPORTED_CONNECTION_TYPES,
    normalise_type,
    profile_for,
    profile_for_adapter,
)

#: dbt threads when neither the connection (extra ``threads``) nor ``overrides`` set them.
DEFAULT_THREADS = 4

_INTEGER_FIELDS = frozenset(
    {"threads", "port", "connect_timeout", "connect_retries", "keepalives_idle", "job_retries"}
)


def build_target(conn: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The dbt target for an Airflow connection, secrets still in place, ``overrides`` applied last.

    :param conn: an Airflow ``Connection``.
    :param overrides: profile fields that replace or add to the connection's.
    """
    fields = ConnectionFields(conn, normalise_type(getattr(conn, "conn_type", None)))
    profile = profile_for(fields)
    if profile is None:
        raise DbtProfileError(
            f"Connection {fields.conn_id!r} has type {getattr(conn, 'conn_type', None)!r}, which cannot be "
            f"turned into a dbt profile; supported types: {', '.join(SUPPORTED_CONNECTION_TYPES)}. "
            "Use one of those, or leave connection_id out and use your repository's profiles.yml"
        )
    target = profile(fields).target()
    threads = fields.extra("threads")
    target["threads"] = threads if threads is not None else DEFAULT_THREADS
    target.update(overrides or {})
    target = {key: value for key, value in target.items() if value is not None}
    for key in _INTEGER_FIELDS & target.keys():
        value = target[key]
        if isinstance(value, str) and value.strip().isdigit():
            target[key] = int(value)
    threads = target.get("threads")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        source = "overrides['threads']" if "threads" in (overrides or {}) else "extra 'threads'"
        raise fields.error(
            f"{source} must be a positive whole number of dbt threads, e.g. 4, got {threads!r}"
        )
    checks = profile_for_adapter(str(target.get("type")))  # the type after the overrides
    if checks is not None:
        checks.check(target, fields)
    return target
