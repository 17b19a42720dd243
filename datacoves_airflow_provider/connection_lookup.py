"""Finding the Airflow connection a DAG names, as given or under the name Datacoves gives an
integration's connection (``ms teams`` -> ``MS_TEAMS``). The Teams webhook hook and the Slack
notifier both look their connection up this way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from datacoves_airflow_provider import compat

__all__ = ["connection_id_candidates", "find_connection"]


def connection_id_candidates(connection_id: str) -> list[str]:
    """``connection_id`` as given, then as Datacoves names an integration's connection (upper case,
    non-alphanumerics as underscores: ``ms teams`` -> ``MS_TEAMS``).

    :param connection_id: the connection id a DAG names.
    """
    upper = re.sub(r"[^0-9A-Za-z]+", "_", connection_id.strip()).strip("_").upper()
    return [connection_id] + ([upper] if upper and upper != connection_id else [])


def find_connection(
    connection_id: str,
    holds: str,
    get_connection: Callable[[str], Any] | None = None,
) -> tuple[str, Any]:
    """The first of :func:`connection_id_candidates` that Airflow has: ``(its id, the connection)``.

    :param connection_id: the connection id a DAG names.
    :param holds: what the connection holds, for the message when none is found
        (``the Slack webhook``).
    :param get_connection: reads one connection by id; default ``BaseHook.get_connection``.
    :raises AirflowNotFoundException: Airflow has none of the candidates.
    """
    get = get_connection or compat.BaseHook.get_connection
    tried = connection_id_candidates(connection_id)
    for conn_id in tried:
        try:
            return conn_id, get(conn_id)
        except compat.AirflowNotFoundException:
            continue
    raise compat.AirflowNotFoundException(
        f"no Airflow connection {' or '.join(repr(c) for c in tried)} holds {holds}"
    )
