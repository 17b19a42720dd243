"""``SlackNotifier``: the same alert as ``MSTeamsNotifier``, in a Slack channel.

Same arguments, same card content and "View Log" button, so a team switches channel by changing
one import (``notifiers.datacoves.ms_teams`` -> ``notifiers.datacoves.slack``) and the connection
id. The webhook is read through the Slack provider's ``SlackWebhookHook`` (a Slack Incoming Webhook
connection: ``password`` holds the token ``T000/B000/XXX`` with ``host`` the endpoint, default
``hooks.slack.com/services``, or ``password`` holds the whole webhook URL) and the message posted
through this provider's bounded session (:mod:`~datacoves_airflow_provider.http.session`:
a total deadline, ``Retry-After`` capped, the answer's size capped).
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from datacoves_airflow_provider import compat
from datacoves_airflow_provider.connection_lookup import find_connection
from datacoves_airflow_provider.exceptions import DatacovesError
from datacoves_airflow_provider.notifiers.alert_card import AlertCard, truncate
from datacoves_airflow_provider.notifiers.base import AlertNotifier
from datacoves_airflow_provider.notifiers.callbacks import inform_callbacks
from datacoves_airflow_provider.optional_import import requires_extra

__all__ = [
    "SlackNotifier",
    "SlackWebhookError",
    "inform_failure",
    "inform_retry",
    "inform_sla_miss",
    "inform_success",
    "slack_message",
]


class SlackWebhookError(DatacovesError):
    """Slack did not accept the message, or the connection holds no webhook (the text never
    contains the webhook URL or token)."""


def _escape(text: str) -> str:
    """Slack mrkdwn needs only ``&``, ``<`` and ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(text, limit)[:limit] or " ", "emoji": True}


def slack_message(card: AlertCard) -> dict[str, Any]:
    """The alert as a Slack message: Block Kit blocks in an attachment of the theme colour, with
    the title as the notification text.

    :param card: the alert.
    """
    blocks: list[dict[str, Any]] = [{"type": "header", "text": _plain(card.title, 150)}]
    if card.subtitle:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": _escape(card.subtitle)[:3000]}]}
        )
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": _escape(truncate(card.message, 2900))}}
    )
    fields = [
        {"type": "mrkdwn", "text": f"*{name}*\n{_escape(value)}"[:2000]} for name, value in card.facts[:10]
    ]
    blocks.append({"type": "section", "fields": fields})
    if card.exception:
        text = _escape(truncate(card.exception, 2800)).replace("```", "'''")
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"```{text}```"}})
    if card.button_url:
        button: dict[str, Any] = {
            "type": "button",
            "text": _plain(card.button_text, 75),
            "url": card.button_url,
        }
        if card.event == "failure":
            button["style"] = "danger"
        blocks.append({"type": "actions", "elements": [button]})
    return {
        "text": truncate(f"{card.title}: {card.message}", 3000),
        "attachments": [{"color": f"#{card.color_hex}", "blocks": blocks}],
    }


@dataclasses.dataclass(kw_only=True, eq=False, repr=False)
class SlackNotifier(AlertNotifier):
    """Posts an alert to the Slack Incoming Webhook of an Airflow connection.

    It takes the arguments of :class:`~datacoves_airflow_provider.notifiers.base.AlertNotifier`
    (``message``, ``title``, ``subtitle``, ``button_text``, ``button_url``, ``color``, ``event``,
    ``timeout``, ``retries``), all keyword-only; what is particular to Slack:

    :param connection_id: the Slack webhook connection (default ``slack``; tried as given, then
        upper-cased with underscores: ``SLACK``, ``SLACK_NOTIFICATIONS``...).
    :param theme_color: a colour name (good, warning, attention, accent, emphasis, ...) or hex colour: the
        attachment's side bar.
    """

    channel_name = "Slack"
    default_connection_id = "slack"

    connection_id: str = default_connection_id

    def _connection_id(self) -> str:
        conn_id, conn = find_connection(self.connection_id, "the Slack webhook")
        if not (conn.password or "").strip():
            raise SlackWebhookError(
                f"connection {conn_id!r} has no Slack webhook token: set its password to the token "
                "(T000/B000/XXXX, with host the endpoint, default hooks.slack.com/services) or to "
                "the whole webhook URL"
            )
        return conn_id

    def send(self, card: AlertCard) -> None:
        """Post ``card`` to the webhook ``SlackWebhookHook`` reads from the connection.

        :param card: the alert.
        :raises SlackWebhookError: the connection has no token, or Slack answered other than 200.
        """
        with requires_extra("slack"):
            from airflow.providers.slack.hooks.slack_webhook import SlackWebhookHook

        from datacoves_airflow_provider.http.bounded import failures_raised_as
        from datacoves_airflow_provider.http.session import post_webhook

        conn_id = self._connection_id()
        # the Slack provider reads the webhook URL (and proxy) from the connection; the post goes
        # through this provider's bounded session, like every other call it makes
        client = SlackWebhookHook(slack_webhook_conn_id=conn_id).client
        url = client.url  # register it with the masker before any log
        compat.mask_secret(url)
        token = url.rstrip("/").rsplit("/services/", 1)[-1]
        if token and token != url:
            compat.mask_secret(token)
        proxy = getattr(client, "proxy", None)
        body = json.dumps(slack_message(card)).encode("utf-8")
        unreachable = f"could not post to the Slack webhook (connection {conn_id!r})"
        with failures_raised_as(SlackWebhookError, unreachable):
            response = post_webhook(
                url,
                body,
                service=f"the Slack webhook (connection {conn_id!r})",
                timeout=self.timeout,
                retries=self.retries,
                content_type="application/json;charset=utf-8",
                proxies={"http": proxy, "https": proxy} if proxy else None,
            )
        if response.status_code != 200:
            raise SlackWebhookError(
                f"the Slack webhook (connection {conn_id!r}) answered HTTP {response.status_code}: "
                f"{response.text[:300]!r}; check the connection's token and that the webhook still "
                "exists (https://api.slack.com/messaging/webhooks#handling_errors)"
            )


inform_success, inform_failure, inform_retry, inform_sla_miss = inform_callbacks(
    SlackNotifier.inform, notifier="SlackNotifier", module=__name__
)
