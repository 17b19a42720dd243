"""The Airflow connections of the data sync's destinations.

A Datacoves *service connection* reaches the worker as ``DATACOVES__<NAME>__<FIELD>`` environment
variables; :func:`service_connection` builds the Airflow connection they describe, in memory, and
:func:`hook_using` gives a provider hook that connection instead of the one its id would look up.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any, TypeVar

from datacoves_airflow_provider.environment import MissingEnvironmentError
from datacoves_airflow_provider.exceptions import InvalidArgumentError

if TYPE_CHECKING:
    from datacoves_airflow_provider.compat import Connection

__all__ = ["SERVICE_FIELDS", "hook_using", "service_connection"]

#: ``DATACOVES__<NAME>__<FIELD>`` fields of a service connection, per destination kind: (required, optional).
SERVICE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "snowflake": (
        ("ACCOUNT", "USER"),
        ("PASSWORD", "PRIVATE_KEY", "DATABASE", "SCHEMA", "ROLE", "WAREHOUSE"),
    ),
    "redshift": (("HOST", "USER", "DATABASE"), ("PASSWORD", "PORT")),
}

_Hook = TypeVar("_Hook")


def service_connection(name: str, db_type: str) -> Connection:
    """An Airflow connection built from a service connection's ``DATACOVES__<NAME>__*`` variables.

    Secret values are registered with Airflow's secrets masker so they never reach the task log.

    :param name: the service connection name (e.g. ``airflow_db_load``).
    :param db_type: ``snowflake`` or ``redshift``.
    """
    from datacoves_airflow_provider.compat import Connection, mask_secret

    prefix = f"DATACOVES__{name.upper()}__"
    required, optional = SERVICE_FIELDS[db_type]
    values = {f: os.environ[prefix + f] for f in (*required, *optional) if os.environ.get(prefix + f)}
    missing = [prefix + f for f in required if f not in values]
    if db_type == "snowflake" and not ({"PASSWORD", "PRIVATE_KEY"} & values.keys()):
        missing.append(f"{prefix}PASSWORD (or {prefix}PRIVATE_KEY)")
    if missing:
        raise MissingEnvironmentError(
            f"Service connection {name!r} is not available on this worker: {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set. Check the service connection's name and "
            "that its delivery mode is 'Environment Variables', or pass connection_id= for an Airflow "
            "connection instead"
        )
    for secret in ("PASSWORD", "PRIVATE_KEY"):
        if secret in values:
            mask_secret(values[secret])
    if db_type == "snowflake":
        extra = {
            "account": values["ACCOUNT"],
            "database": values.get("DATABASE"),
            "warehouse": values.get("WAREHOUSE"),
            "role": values.get("ROLE"),
            "private_key_content": values.get("PRIVATE_KEY"),
        }
        return Connection(
            conn_id=name,
            conn_type="snowflake",
            login=values["USER"],
            password=values.get("PASSWORD"),
            schema=values.get("SCHEMA"),
            extra=json.dumps({k: v for k, v in extra.items() if v}),
        )
    port = values.get("PORT", "5439")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InvalidArgumentError(
            f"{prefix}PORT={port!r} is not a port number: set it to e.g. 5439, or unset it"
        )
    return Connection(
        conn_id=name,
        conn_type="redshift",
        host=values["HOST"],
        login=values["USER"],
        password=values.get("PASSWORD"),
        schema=values["DATABASE"],
        port=int(port),
    )


def hook_using(hook_class: type[_Hook], connection: Connection | None, **hook_kwargs: Any) -> _Hook:
    """A ``hook_class(**hook_kwargs)`` that reads ``connection`` where it would look up the connection
    of that id; a plain ``hook_class(**hook_kwargs)`` when ``connection`` is None.

    Hooks read their connection through ``get_connection``: a subclass that answers it with the
    given connection serves an in-memory one (a service connection) to every hook method.

    :param hook_class: the provider's hook (``SnowflakeHook``, ``RedshiftSQLHook``, ``PostgresHook``).
    :param connection: the connection to use, or None to look it up as usual.
    :param hook_kwargs: the hook's arguments (its ``*_conn_id`` names ``connection.conn_id``).
    """
    if connection is None:
        return hook_class(**hook_kwargs)
    given = connection
    look_up = hook_class.get_connection  # type: ignore[attr-defined]

    def get_connection(cls: type, conn_id: str) -> Any:
        return given if conn_id == given.conn_id else look_up(conn_id)

    bound = type(hook_class.__name__, (hook_class,), {"get_connection": classmethod(get_connection)})
    return bound(**hook_kwargs)  # type: ignore[no-any-return]
