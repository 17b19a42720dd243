"""A secret's value as an Airflow connection: what Airflow can read (a URI, or a JSON object of
connection fields), the platform's field names made Airflow's, and the parts of a URI that are
secret on their own."""

from __future__ import annotations

import json
import re
from typing import Any

#: The fields a JSON connection may have (what Airflow's ``Connection.from_json`` passes on; the id
#: comes from the secret's name).
CONNECTION_FIELDS = frozenset(
    ("conn_type", "description", "host", "login", "password", "schema", "port", "extra", "uri")
)
#: A connection URI starts with its type, e.g. ``postgres://`` or ``google-cloud-platform://``.
_URI_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-_]*://")


def _connection_problem(value: Any) -> str | None:
    """What is wrong with a secret's value as an Airflow connection (never quoting the value), or
    None when Airflow can read it: a URI, or a JSON object of connection fields.

    :param value: the secret's value as the API returned it (a string, or parsed JSON).
    """
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except ValueError:
                return "starts with '{' but is not valid JSON"
        elif _URI_SCHEME.match(text):
            return None
        else:
            return "is neither a connection URI (no '<type>://' at its start) nor a JSON object"
    if value is None:
        return "has no value (null)"
    if isinstance(value, list):
        return "is a JSON list"
    if not isinstance(value, dict):
        return f"is a JSON {type(value).__name__}"
    if "extra_dejson" in value and "extra" in value:
        return "has both extra and extra_dejson (the same field under two names): keep one"
    unknown = sorted(str(key) for key in value if key not in CONNECTION_FIELDS)
    if unknown:
        return f"has keys that are not connection fields ({', '.join(unknown)})"
    port = value.get("port")
    if port not in (None, "") and not (
        (isinstance(port, int) and not isinstance(port, bool)) or (isinstance(port, str) and port.isdigit())
    ):
        return "has a port that is not a whole number"
    return None


def _with_connection_fields(secret: Any) -> Any:
    """``secret`` with a JSON connection's ``extra_dejson`` (the platform's name for it) renamed to
    ``extra`` and a ``conn_id`` field dropped (the secret's name is the id), so that Airflow can
    read it; any other value unchanged.

    :param secret: a :class:`~datacoves_airflow_provider.secrets.api_client.DatacovesSecret`.
    """
    import dataclasses

    value = secret.value
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            value = json.loads(value)
        except ValueError:
            return secret  # _connection_problem says what is wrong
    if not isinstance(value, dict) or not ({"extra_dejson", "conn_id"} & value.keys()):
        return secret
    fields = {key: item for key, item in value.items() if key != "conn_id"}
    if "extra_dejson" in fields:
        extra = fields.pop("extra_dejson")
        if fields.get("extra") in (None, "", {}):
            fields["extra"] = extra
        else:
            fields["extra_dejson"] = extra  # both: _connection_problem names it
    return dataclasses.replace(secret, value=fields)


def _uri_secrets(text: str) -> list[str]:
    """The parts of a connection URI that may be shown on their own: its password and the values of
    its query (the connection's extra), decoded; none for text that is not a URI.

    :param text: a connection's value.
    """
    from urllib.parse import parse_qsl, unquote, urlsplit

    if not _URI_SCHEME.match(text.strip()):
        return []
    try:
        parts = urlsplit(text.strip())
        password = parts.password
    except ValueError:
        return []
    return ([unquote(password)] if password else []) + [value for _, value in parse_qsl(parts.query)]
