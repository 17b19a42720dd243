"""What every adapter's profile class shares: the connection's fields, the error, the base class."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from datacoves_airflow_provider.exceptions import DatacovesError


class DbtProfileError(DatacovesError, ValueError):
    """A connection cannot be turned into a dbt profile; the message names the connection and field."""


class ConnectionFields:
    """A connection's fields, read the way the provider's hook reads them.

    :param conn: an Airflow ``Connection``.
    :param conn_type: its type, normalised (e.g. ``postgres`` for ``postgresql``).
    """

    def __init__(self, conn: Any, conn_type: str) -> None:
        self.conn = conn
        self.conn_id = str(getattr(conn, "conn_id", None) or "?")
        self.conn_type = conn_type
        try:
            extras = conn.extra_dejson
        except Exception:
            extras = None
        self.extras: dict[str, Any] = extras if isinstance(extras, dict) else {}

    def extra(self, name: str, *legacy_types: str) -> Any:
        """``name`` from the extras, or its legacy ``extra__<type>__<name>`` form; "" counts as unset.

        :param name: the extra's name.
        :param legacy_types: other connection types whose legacy prefix is read too.
        """
        for key in (name, *(f"extra__{t}__{name}" for t in (self.conn_type, *legacy_types))):
            value = self.extras.get(key)
            if value not in (None, ""):
                return value
        return None

    def attr(self, name: str) -> Any:
        """The connection's attribute ``name`` (``login``, ``host``, ...); "" counts as unset.

        :param name: the attribute's name.
        """
        value = getattr(self.conn, name, None)
        return None if value in (None, "") else value

    def error(self, message: str) -> DbtProfileError:
        """An error that names the connection and its type before ``message``.

        :param message: what is wrong and what to change.
        """
        return DbtProfileError(f"Connection {self.conn_id!r} ({self.conn_type}): {message}")

    def __repr__(self) -> str:  # the extras hold keys and passwords: never show them
        return f"ConnectionFields(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, extras=<hidden>)"


class DbtProfile:
    """How one kind of Airflow connection becomes a dbt target.

    Each adapter has a class (in its own module) that declares what dbt needs and builds the
    target for the adapter's usual authentication; an authentication method that reads the
    connection differently is a subclass that says which connections it :meth:`claims`. The
    registry (:mod:`.registry`) asks the classes of a connection's type in turn, the adapter's own
    class last, and the first that claims the connection builds the target.

    :param fields: the connection's fields.
    """

    #: The dbt adapter: the target's ``type``.
    adapter: ClassVar[str]
    #: The Airflow connection types this class reads (normalised: lower case, ``_`` for ``-``).
    connection_types: ClassVar[tuple[str, ...]] = ()
    #: Other spellings of a connection type, read as that type (e.g. ``postgresql`` as ``postgres``).
    aliases: ClassVar[Mapping[str, str]] = {}
    #: Fields dbt needs, with where the value comes from on the Airflow connection.
    required: ClassVar[tuple[tuple[str, str], ...]] = ()
    #: Credential fields of which dbt needs at least one, and where they come from (None: no check).
    one_of: ClassVar[tuple[tuple[str, ...], str] | None] = None
    #: Fields whose values are secrets: written to the profile as ``env_var()`` references, given to
    #: dbt in its environment and registered with the secrets masker. Every adapter's fields count
    #: for every profile, at any depth (see ``registry.SECRET_FIELDS``).
    secret_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, fields: ConnectionFields) -> None:
        self.fields = fields

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        """Whether this class reads the connection; an adapter's own class reads every one left over.

        :param fields: the connection's fields (of one of :attr:`connection_types`).
        """
        return True

    def target(self) -> dict[str, Any]:
        """The dbt target, secrets in place; None values are dropped by the caller."""
        raise NotImplementedError

    def credentials(self, target: dict[str, Any]) -> None:
        """Add this authentication method's fields to ``target`` (for adapters whose
        :meth:`target` leaves them to it).

        :param target: the target being built.
        """

    @classmethod
    def check(cls, target: Mapping[str, Any], fields: ConnectionFields) -> None:
        """Raise a :class:`DbtProfileError` for the first field dbt needs that ``target`` lacks.

        :param target: the target with the overrides applied.
        :param fields: the connection, named in the message.
        """
        missing = [(name, source) for name, source in cls.required if target.get(name) in (None, "")]
        if missing:
            name, source = missing[0]
            raise fields.error(
                f"dbt needs {name!r} for {cls.adapter}, and the connection has none: set its {source}, "
                f"or pass overrides={{{name!r}: ...}}"
            )
        if cls.one_of is not None:
            names, sources = cls.one_of
            if not any(target.get(name) for name in names):
                raise fields.error(f"no credentials for dbt: set {sources}")
