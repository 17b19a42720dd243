"""Every adapter's profile classes, and which one reads a connection.

Adding an adapter: a module beside this one with its classes (subclasses of
:class:`~datacoves_airflow_provider.dbt.profiles.base.DbtProfile`) and their ``PROFILES`` tuple,
and one line in :data:`PROFILES` below.
"""

from __future__ import annotations

from datacoves_airflow_provider.dbt.profiles import (
    bigquery,
    databricks,
    duckdb,
    postgres,
    redshift,
    snowflake,
)
from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfile

#: Every profile class, asked in this order whether it reads a connection of its type: each
#: adapter's authentication methods first, the adapter's own class last.
PROFILES: tuple[type[DbtProfile], ...] = (
    *snowflake.PROFILES,
    *postgres.PROFILES,
    *redshift.PROFILES,
    *bigquery.PROFILES,
    *databricks.PROFILES,
    *duckdb.PROFILES,
)

_ALIASES = {alias: name for profile in PROFILES for alias, name in profile.aliases.items()}

#: Airflow connection types that can be turned into dbt profiles.
SUPPORTED_CONNECTION_TYPES = tuple(
    sorted({name for profile in PROFILES for name in (*profile.connection_types, *profile.aliases)})
)

#: Profile fields whose values are secrets, at any depth (BigQuery's keyfile_json has some): every
#: adapter's, so that a field is a secret whatever the adapter its overrides go to.
SECRET_FIELDS: frozenset[str] = frozenset().union(*(profile.secret_fields for profile in PROFILES))


def normalise_type(conn_type: object) -> str:
    """An Airflow connection type as the profile classes name it: lower case, ``_`` for ``-``,
    an alias (``postgresql``) as its type (``postgres``).

    :param conn_type: the connection's ``conn_type``.
    """
    value = str(conn_type or "").strip().lower().replace("-", "_")
    return _ALIASES.get(value, value)


def profile_for(fields: ConnectionFields) -> type[DbtProfile] | None:
    """The class that reads this connection: the first of its type that claims it (None: no class
    reads connections of its type).

    :param fields: the connection's fields.
    """
    for profile in PROFILES:
        if fields.conn_type in profile.connection_types and profile.claims(fields):
            return profile
    return None


def profile_for_adapter(adapter: str) -> type[DbtProfile] | None:
    """A class of dbt adapter ``adapter`` (they all declare the same needs), or None.

    :param adapter: a target's ``type``.
    """
    return next((profile for profile in PROFILES if profile.adapter == adapter), None)
