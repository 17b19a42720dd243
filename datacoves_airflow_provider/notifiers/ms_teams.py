"""``MSTeamsNotifier``: DAG and task alerts in a Microsoft Teams channel, with a "View Log" button.

.. code-block:: python

    from notifiers.datacoves.ms_teams import MSTeamsNotifier

    @dag(on_failure_callback=MSTeamsNotifier(message="DAG {{ dag.dag_id }} failed"), ...)

Use it as ``on_success_callback``, ``on_failure_callback``, ``on_retry_callback`` of a DAG or a
task (alone or in a list) and, on Airflow 2, as ``sla_miss_callback``. ``inform_success``,
``inform_failure``, ``inform_retry`` and ``inform_sla_miss`` are plain callables for the same
(``functools.partial(inform_failure, connection_id="MS_TEAMS")``). The card is built as data and
serialised once; see docs/notifications.md.
"""

from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any

from datacoves_airflow_provider.hooks.ms_teams_webhook import (
    CONNECTOR,
    MSTeamsWebhookHook,
    check_webhook_kind,
)
from datacoves_airflow_provider.notifiers.alert_card import CONTAINER_STYLE_COLORS, AlertCard, text_color
from datacoves_airflow_provider.notifiers.base import AlertNotifier
from datacoves_airflow_provider.notifiers.callbacks import inform_callbacks

__all__ = [
    "MSTeamsNotifier",
    "adaptive_card",
    "inform_failure",
    "inform_retry",
    "inform_sla_miss",
    "inform_success",
    "message_card",
    "workflows_payload",
]

ADAPTIVE_CARD_VERSION = "1.4"


def adaptive_card(card: AlertCard) -> dict[str, Any]:
    """The alert as an Adaptive Card (what Teams Workflows webhooks show).

    The title is the first element, in the theme colour. A theme that is a Container style and no
    text colour (``emphasis``) leaves the title in the default colour and puts the message and the
    facts in a Container of that style.

    :param card: the alert.
    """
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": card.title,
            "size": "Large",
            "weight": "Bolder",
            "color": text_color(card.color),
            "wrap": True,
        }
    ]
    if card.subtitle:
        body.append(
            {"type": "TextBlock", "text": card.subtitle, "isSubtle": True, "spacing": "None", "wrap": True}
        )
    content: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": card.message, "wrap": True},
        {"type": "FactSet", "facts": [{"title": name, "value": value} for name, value in card.facts]},
    ]
    if card.color in CONTAINER_STYLE_COLORS:
        body.append({"type": "Container", "style": card.color, "items": content})
    else:
        body.extend(content)
    if card.exception:
        body.append(
            {
                "type": "Container",
                "style": "attention" if card.event == "failure" else "warning",
                "items": [
                    {"type": "TextBlock", "text": card.exception, "fontType": "Monospace", "wrap": True}
                ],
            }
        )
    result: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": ADAPTIVE_CARD_VERSION,
        "fallbackText": f"{card.title}: {card.message}"[:1000],
        "body": body,
    }
    if card.button_url:
        result["actions"] = [{"type": "Action.OpenUrl", "title": card.button_text, "url": card.button_url}]
    return result


def workflows_payload(card: AlertCard) -> dict[str, Any]:
    """The Adaptive Card in the envelope Teams Workflows webhooks take.

    :param card: the alert.
    """
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": adaptive_card(card),
            }
        ],
    }


def message_card(card: AlertCard) -> dict[str, Any]:
    """The alert as a legacy MessageCard (Office 365 connector webhooks), with a hex theme colour.

    :param card: the alert.
    """
    section: dict[str, Any] = {
        "activityTitle": card.title,
        "activitySubtitle": card.subtitle,
        "text": card.message,
        "facts": [{"name": name, "value": value} for name, value in card.facts],
        "markdown": False,
    }
    sections = [section]
    if card.exception:
        sections.append({"text": card.exception, "markdown": False})
    result: dict[str, Any] = {
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "summary": card.title[:200],
        "themeColor": card.color_hex,
        "title": card.title,
        "sections": sections,
    }
    if card.button_url:
        result["potentialAction"] = [
            {
                "@type": "OpenUri",
                "name": card.button_text,
                "targets": [{"os": "default", "uri": card.button_url}],
            }
        ]
    return result


@dataclasses.dataclass(kw_only=True, eq=False, repr=False)
class MSTeamsNotifier(AlertNotifier):
    """Posts an alert card to the Teams webhook of an Airflow connection.

    It takes the arguments of :class:`~datacoves_airflow_provider.notifiers.base.AlertNotifier`
    (``message``, ``title``, ``subtitle``, ``button_text``, ``button_url``, ``color``, ``event``,
    ``timeout``, ``retries``), all keyword-only; what is particular to Teams:

    :param connection_id: the connection holding the webhook URL (default ``ms_teams``; tried as
        given, then upper-cased with underscores: ``MS_TEAMS``, the name Datacoves gives an
        ``ms teams`` integration).
    :param theme_color: an Adaptive Card colour name (good, warning, attention, accent, default,
        dark, light), ``emphasis`` (message and facts in an emphasis Container, title in the
        default colour; hex ``6264A7`` on connector cards) or a hex colour (mapped to the nearest
        name on Workflows cards, kept as is on connector cards); default: by outcome.
    :param webhook_kind: ``workflows`` (Adaptive Card) or ``connector`` (MessageCard); default: the
        connection's ``webhook_kind`` extra, else read from the URL.
    """

    channel_name = "MS Teams"
    default_connection_id = "ms_teams"

    connection_id: str = default_connection_id
    webhook_kind: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        check_webhook_kind(self.webhook_kind)

    @cached_property
    def hook(self) -> MSTeamsWebhookHook:
        """The webhook hook (no connection is read until a message is sent)."""
        return MSTeamsWebhookHook(
            connection_id=self.connection_id,
            webhook_kind=self.webhook_kind,
            timeout=self.timeout,
            retries=self.retries,
        )

    def payload(self, card: AlertCard, kind: str) -> dict[str, Any]:
        """The JSON document for a webhook of ``kind``.

        :param card: the alert.
        :param kind: ``workflows`` or ``connector``.
        """
        return message_card(card) if kind == CONNECTOR else workflows_payload(card)

    def send(self, card: AlertCard) -> None:
        """Post ``card`` to the connection's webhook, in the format its kind takes.

        :param card: the alert.
        """
        _, _, kind = self.hook.resolve()
        self.hook.send(self.payload(card, kind))


inform_success, inform_failure, inform_retry, inform_sla_miss = inform_callbacks(
    MSTeamsNotifier.inform, notifier="MSTeamsNotifier", module=__name__
)
