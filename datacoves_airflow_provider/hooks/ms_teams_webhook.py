"""The Microsoft Teams incoming webhook: its URL from an Airflow connection, and one POST.

Two kinds of webhook exist. **Workflows** webhooks (Power Automate: ``*.logic.azure.com``,
``*.environment.api.powerplatform.com``) take an Adaptive Card in a ``message`` envelope and
answer 200 or 202. **Office 365 connector** webhooks (``*.webhook.office.com/webhookb2/...``,
``outlook.office.com/webhook/...``), which Microsoft retired, take a MessageCard. The kind is
read from the URL unless the caller or the connection's ``webhook_kind`` extra says.

The URL is a credential (anyone holding it can post): every secret part is registered with
Airflow's secrets masker when read, and only ``scheme://host/…`` is ever logged. ``requests`` is
imported when a message is sent, not with this module.
"""

from __future__ import annotations

import contextlib
import json
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from datacoves_airflow_provider import compat
from datacoves_airflow_provider.connection_lookup import connection_id_candidates, find_connection
from datacoves_airflow_provider.exceptions import DatacovesError, InvalidArgumentError
from datacoves_airflow_provider.http.session import check_timeout_and_retries

__all__ = [
    "CONNECTOR",
    "WORKFLOWS",
    "MSTeamsWebhookError",
    "MSTeamsWebhookHook",
    "check_webhook_kind",
    "connection_id_candidates",
    "redacted_url",
    "webhook_kind_of",
]

WORKFLOWS = "workflows"
CONNECTOR = "connector"

_CONNECTOR_HOST = re.compile(r"(^|\.)(webhook\.office\.com|outlook\.office(365)?\.com)$", re.IGNORECASE)


class MSTeamsWebhookError(DatacovesError):
    """The webhook did not accept the message (the text never contains the URL)."""


def check_webhook_kind(webhook_kind: str | None) -> None:
    """Reject a ``webhook_kind`` that is neither ``workflows``, ``connector`` nor None.

    :param webhook_kind: the kind as given.
    """
    if webhook_kind not in (None, WORKFLOWS, CONNECTOR):
        raise InvalidArgumentError(
            f"webhook_kind must be {WORKFLOWS!r}, {CONNECTOR!r} or None, not {webhook_kind!r}"
        )


def webhook_kind_of(url: str) -> str:
    """``connector`` for Office 365 connector URLs (``*.webhook.office.com/webhookb2/...``,
    ``outlook.office.com/webhook/...``), otherwise ``workflows``.

    :param url: the webhook URL.
    """
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    path = parts.path.lower()
    if _CONNECTOR_HOST.search(host) and ("/webhookb2/" in path or path.startswith("/webhook/")):
        return CONNECTOR
    return WORKFLOWS


def redacted_url(url: str) -> str:
    """``scheme://host/…``: what may be logged of a webhook URL.

    :param url: the webhook URL.
    """
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or '?'}/…"


def _mask_url(url: str) -> None:
    """Register the URL and its secret parts (path with query, long path segments such as the
    connector's GUIDs and tokens, and query values such as ``sig``) with the secrets masker, so
    that no log line (ours, urllib3's) shows them. Short, common words (``workflows``) are not
    registered: the masker would hide them everywhere."""
    parts = urlsplit(url)
    secrets = {url, parts.path + (f"?{parts.query}" if parts.query else "")}
    secrets.update(seg for seg in parts.path.split("/") if len(seg) >= 16)
    secrets.update(
        value
        for key, value in parse_qsl(parts.query)
        if len(value) >= 16
        or (key.lower() in ("sig", "signature", "code", "token", "key") and len(value) >= 4)
    )
    for secret in secrets:
        if secret and secret != "/":
            with contextlib.suppress(Exception):  # best effort outside a configured Airflow
                compat.mask_secret(secret)


class MSTeamsWebhookHook(compat.BaseHook):  # type: ignore[misc,valid-type]
    """Posts JSON payloads to the Teams webhook stored in an Airflow connection.

    Where the connection may keep the URL (checked in this order): extra ``webhook_url`` or
    ``url``; ``host`` holding a full URL (``https://...``), with ``password`` (or extra
    ``webhook_token``/``token``) appended as the last path part when set, as older connections
    stored it; ``host`` without a scheme (``schema`` or https, and ``port``) plus the password;
    or ``password`` holding a full URL. Extra ``webhook_kind`` (``workflows``/``connector``)
    overrides the kind read from the URL.

    :param connection_id: the connection; tried as given, then upper-cased with underscores.
    :param webhook_kind: ``workflows``, ``connector``, or None to decide from the URL / connection.
    :param timeout: seconds to connect and to wait for the answer, per attempt; the whole send
        (every attempt and the waits between them) ends within ``timeout * (retries + 1)``.
    :param retries: further attempts after a connection error, 429 or 5xx answer (with backoff,
        ``Retry-After`` honoured when it fits in that budget).
    """

    conn_name_attr = "connection_id"
    default_conn_name = "ms_teams"
    conn_type = "http"
    hook_name = "Microsoft Teams webhook"

    def __init__(
        self,
        *,
        connection_id: str = default_conn_name,
        webhook_kind: str | None = None,
        timeout: float = 30.0,
        retries: int = 3,
    ) -> None:
        super().__init__()
        check_webhook_kind(webhook_kind)
        check_timeout_and_retries(timeout, retries)
        self.connection_id = connection_id
        self.webhook_kind = webhook_kind
        self.timeout = timeout
        self.retries = retries
        self._resolved: tuple[str, str, str] | None = None

    def resolve(self) -> tuple[str, str, str]:
        """``(connection id found, webhook URL, webhook kind)``; the URL is masked once read."""
        if self._resolved is not None:
            return self._resolved
        _, conn = find_connection(self.connection_id, "the MS Teams webhook", self.get_connection)
        extra = conn.extra_dejson if conn.extra else {}
        url = url_from_connection(
            host=conn.host, password=conn.password, schema=conn.schema, port=conn.port, extra=extra
        )
        if not url:
            raise MSTeamsWebhookError(
                f"connection {conn.conn_id!r} has no webhook URL (set host to the URL, or extra webhook_url)"
            )
        _mask_url(url)
        problem = _url_problem(url)
        if problem:
            raise MSTeamsWebhookError(
                f"connection {conn.conn_id!r}: the webhook URL it holds {problem}; set host (or extra "
                "webhook_url) to the whole https://... URL Teams gave for the webhook"
            )
        kind = self.webhook_kind or extra.get("webhook_kind") or webhook_kind_of(url)
        if kind not in (WORKFLOWS, CONNECTOR):
            raise MSTeamsWebhookError(f"connection {conn.conn_id!r}: unknown webhook_kind {kind!r}")
        self._resolved = (conn.conn_id, url, kind)
        return self._resolved

    def send(self, payload: dict[str, Any]) -> int:
        """POST ``payload`` (serialised once, as UTF-8 JSON) and return the HTTP status.

        :param payload: the message (Workflows envelope or MessageCard).
        :raises MSTeamsWebhookError: the webhook answered other than 200/202, or could not be reached.
        """
        from datacoves_airflow_provider.http.bounded import failures_raised_as
        from datacoves_airflow_provider.http.session import post_webhook

        conn_id, url, kind = self.resolve()
        body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        target = redacted_url(url)
        with failures_raised_as(MSTeamsWebhookError, f"could not post to {target} (connection {conn_id!r})"):
            response = post_webhook(
                url,
                body,
                service=f"the MS Teams webhook {target} (connection {conn_id!r})",
                timeout=self.timeout,
                retries=self.retries,
                content_type="application/json; charset=utf-8",
            )
        # Workflows answer 202 Accepted; connector webhooks 200 (with "1" as the body)
        if response.status_code not in (200, 202):
            raise MSTeamsWebhookError(
                f"{target} (connection {conn_id!r}, {kind} webhook) answered HTTP {response.status_code}: "
                f"{response.text[:300]!r}"
            )
        self.log.info(
            "Posted %s bytes to the MS Teams %s webhook %s (connection %s): HTTP %s",
            len(body),
            kind,
            target,
            conn_id,
            response.status_code,
        )
        return int(response.status_code)


#: A host name or IPv4 address (IPv6 addresses come bracketed in URLs and are checked by urlsplit).
_HOST_NAME = re.compile(r"^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")


def _url_problem(url: str) -> str | None:
    """Why ``url`` cannot be a webhook URL (never quoting its secret path), or None.

    :param url: the URL a connection stores.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a port that is not a number)
    except ValueError:
        return "is not a URL (its host or port cannot be read)"
    if parts.scheme.lower() not in ("http", "https"):
        return f"has the scheme {parts.scheme!r}, not http or https"
    host = parts.hostname or ""
    if not host or not (_HOST_NAME.match(host) or ":" in host):
        return f"has no valid host name (host {parts.netloc.rpartition('@')[2]!r})"
    return None


def url_from_connection(
    *,
    host: str | None,
    password: str | None,
    schema: str | None = None,
    port: int | None = None,
    extra: dict[str, Any] | None = None,
) -> str | None:
    """The webhook URL a connection stores, wherever it keeps it (see :class:`MSTeamsWebhookHook`).

    :param host: the connection's host.
    :param password: the connection's password.
    :param schema: the connection's schema (the URL scheme when host has none).
    :param port: the connection's port (when host has no scheme).
    :param extra: the connection's extra.
    """
    extra = extra or {}
    for key in ("webhook_url", "url"):
        value = extra.get(key)
        if isinstance(value, str) and "://" in value:
            return value.strip()
    token = (password or extra.get("webhook_token") or extra.get("token") or "").strip()
    host = (host or "").strip()
    if token and "://" in token:
        return token
    if not host:
        return None
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else "https"
        netloc, _, path = host.partition("/")
        if port and ":" not in netloc:
            netloc = f"{netloc}:{port}"
        host = f"{scheme}://{netloc}" + (f"/{path}" if path else "")
    if token:
        return host.rstrip("/") + "/" + token.lstrip("/")
    return host
