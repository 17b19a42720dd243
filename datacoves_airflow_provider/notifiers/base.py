"""The part every Datacoves alert notifier shares: arguments, templating, and never failing the
callback it runs in.

A subclass says how to deliver an :class:`~datacoves_airflow_provider.notifiers.alert_card.AlertCard`
(``send``). Calling the notifier (what Airflow does with a callback) renders ``message``,
``title``, ``subtitle``, ``button_text`` and ``button_url`` on a copy of the notifier, builds the
card from the context and sends it; any error is logged and swallowed, so an alert can never change
a task's or DAG run's state. ``notify`` (Airflow's notifier API) does the same but lets errors
propagate.

The arguments every notifier takes are declared here once, as dataclass fields; a subclass declares
only its own (``webhook_kind`` for Teams). ``AlertNotifier.inform`` is what a notifier module's
``inform_*`` callables do (:mod:`~datacoves_airflow_provider.notifiers.callbacks` makes them).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from datacoves_airflow_provider import compat
from datacoves_airflow_provider.exceptions import InvalidArgumentError, InvalidArgumentTypeError
from datacoves_airflow_provider.http.session import check_timeout_and_retries
from datacoves_airflow_provider.notifiers.alert_card import (
    EVENTS,
    NAMED_COLORS,
    AlertCard,
    alert_card,
    parse_hex,
)

if TYPE_CHECKING:
    from typing_extensions import Self

__all__ = [
    "AlertNotifier",
    "callback_context",
    "check_color",
    "describe_context",
    "redacted_card",
    "safe_error",
]


def check_color(value: object, param: str) -> None:
    """Reject a colour the cards cannot show (it would silently fall back to the outcome's colour).

    :param value: ``theme_color`` or ``color`` as given; None or empty means "by outcome".
    :param param: the parameter's name, for the message.
    """
    if value is None or value == "":
        return
    text = value.strip().lower() if isinstance(value, str) else None
    if text is None or (text not in NAMED_COLORS and parse_hex(text) is None):
        raise InvalidArgumentError(
            f"{param}={value!r} is not a colour: use an Adaptive Card colour name "
            f"({', '.join(NAMED_COLORS)}) or a hex colour such as 'FF0000' / '#FF0000'"
        )


def callback_context(args: tuple[Any, ...]) -> Mapping[str, Any]:
    """The context of a callback call: ``(context,)`` for task and DAG callbacks; Airflow 2's
    SLA-miss callbacks pass ``(dag, task_list, blocking_task_list, slas, blocking_tis)``.

    :param args: the positional arguments Airflow called the callback with.
    """
    if len(args) == 1:
        return args[0]
    names: tuple[str, ...]
    if len(args) == 5:
        names = ("dag", "task_list", "blocking_task_list", "slas", "blocking_tis")
    elif len(args) == 4:
        names = ("dag", "task_list", "blocking_task_list", "blocking_tis")
    else:
        raise InvalidArgumentTypeError(
            f"a callback gets a context, or the 5 SLA-miss arguments; got {len(args)} arguments"
        )
    context = dict(zip(names, args, strict=True))
    context.setdefault("slas", [])
    return context


@dataclasses.dataclass(kw_only=True, eq=False, repr=False)
class AlertNotifier(compat.BaseNotifier):  # type: ignore[misc,valid-type]
    """Base class of the Datacoves alert notifiers (Teams, Slack).

    Its arguments are dataclass fields, keyword-only: a subclass (a dataclass too, with the same
    options) declares only the arguments it adds, and may give ``connection_id`` its own default.

    :param connection_id: the Airflow connection holding the webhook; tried as given, then
        upper-cased with underscores (``ms teams`` / ``ms_teams`` -> ``MS_TEAMS``), the name
        Datacoves gives an integration's connection.
    :param message: the body (Jinja-templated from the callback context); default: a sentence
        naming the DAG, task and outcome.
    :param theme_color: an Adaptive Card colour name (``good``, ``warning``, ``attention``,
        ``accent``, ``default``, ``dark``, ``light``), the Container style ``emphasis``, or a hex
        colour (``FF0000``); default: by outcome (good, attention, warning).
    :param title: the heading (templated); default: DAG, task and outcome.
    :param subtitle: the line under the heading (templated); default: the run id.
    :param button_text: the button's label (templated; default ``View Log``).
    :param button_url: the button's link (templated); default: the task try's log page in this
        Airflow's UI (the DAG run's page for DAG callbacks without a task instance).
    :param color: the older spelling of ``theme_color`` (dbt-coves YAML uses ``color:``).
    :param event: force the outcome reported (``success``, ``failure``, ``retry``, ``sla_miss``)
        instead of reading it from the context.
    :param timeout: seconds per HTTP attempt; the whole send (every attempt and the waits between
        them) ends within ``timeout * (retries + 1)``.
    :param retries: further attempts after connection errors, 429 and 5xx answers.
    """

    template_fields = ("message", "title", "subtitle", "button_text", "button_url")
    #: The name used in log lines ("MS Teams", "Slack").
    channel_name = "webhook"
    #: The connection used when ``connection_id`` is None or empty.
    default_connection_id = "webhook"

    connection_id: str | None = None
    message: str | None = None
    theme_color: str | None = None
    title: str | None = None
    subtitle: str | None = None
    button_text: str = "View Log"
    button_url: str | None = None
    color: str | None = None
    event: str | None = None
    timeout: float = 30.0
    retries: int = 3

    def __post_init__(self) -> None:
        super().__init__()
        if self.event is not None and self.event not in EVENTS:
            raise InvalidArgumentError(f"event must be one of {', '.join(EVENTS)}, not {self.event!r}")
        check_color(self.theme_color, "theme_color")
        check_color(self.color, "color")
        check_timeout_and_retries(self.timeout, self.retries)
        self.connection_id = self.connection_id or self.default_connection_id
        self.theme_color = self.theme_color or self.color

    @classmethod
    def inform(cls, event: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Self | None:
        """What the ``inform_*`` callables of a notifier's module do. Called with the callback's
        arguments: send now. Called with notifier arguments only
        (``on_failure_callback=inform_failure(connection_id=...)``): the notifier, checked at parse
        time.

        :param event: the outcome reported (``success``, ``failure``, ``retry``, ``sla_miss``).
        :param args: the callback's arguments (none: return the notifier instead of sending).
        :param kwargs: the notifier's arguments.
        """
        notifier = cls(**{"event": event, **kwargs})
        if not args:
            return notifier
        notifier(*args)
        return None

    def build_card(self, context: Mapping[str, Any]) -> AlertCard:
        """The card for ``context``, from this notifier's (already rendered) texts.

        Every text goes through the secrets masker, before it is cut to length (so no part of a
        secret survives at a cut) and again in the finished card: a template such as
        ``{{ exception }}`` or ``{{ conn.x.password }}`` renders the secret itself, and a webhook
        payload is not a log that Airflow masks.

        :param context: the callback context.
        """
        card = alert_card(
            context,
            event=self.event,
            message=_redacted(self.message),
            title=_redacted(self.title),
            subtitle=_redacted(self.subtitle),
            theme_color=self.theme_color,
            button_text=_redacted(self.button_text),
            button_url=_redacted(self.button_url),
        )
        return redacted_card(card)

    def send(self, card: AlertCard) -> None:
        """Deliver ``card``; raise when it was not accepted.

        :param card: the alert.
        """
        raise NotImplementedError

    def notify(self, context: Any) -> None:
        """Build the card for ``context`` and send it (errors propagate; ``__call__`` swallows them).

        :param context: the callback context (templated fields already rendered).
        """
        self.send(self.build_card(context))

    async def async_notify(self, context: Any) -> None:
        """:meth:`notify` in a worker thread, for Airflow 3's triggerer (deadline alerts).

        :param context: the callback context.
        """
        import asyncio

        await asyncio.to_thread(self.notify, context)

    def _render(self, template: Any, context: Any, dag: Any = None) -> Any:
        # always to a string (our fields are texts); never asks the context's DAG, which may be a
        # SerializedDAG without rendering options
        return super(compat.BaseNotifier, self)._render(template, context, None)

    def __call__(self, *args: Any) -> None:
        """Send the alert for a callback; log, never raise, when that fails.

        The templated fields are rendered on a copy, so one notifier instance serves any number of
        callbacks (a DAG's ``default_args``, lists, retries in one process) with fresh templates.

        :param args: what Airflow passes to callbacks: the context, or Airflow 2's five SLA-miss
            arguments.
        """
        where = "?"
        try:
            context = callback_context(args)
            where = describe_context(context)
            rendered = copy.copy(self)
            # Airflow 3.3's `dags test` hands DAG callbacks a SerializedDAG, which has no template
            # environment: fall back to Airflow's default sandboxed one
            dag = context.get("dag")
            env_dag = dag if callable(getattr(dag, "get_template_env", None)) else None
            try:
                rendered.render_template_fields(context, jinja_env=self.get_template_env(dag=env_dag))  # type: ignore[arg-type]
            except Exception as err:  # jinja2.UndefinedError: e.g. {{ ts }} in Airflow 3's dag-processor,
                # whose DAG callbacks get only dag, run_id and reason. Send the alert anyway.
                self.log.warning(
                    "%s alert: %s; rendering with missing values left empty", self.channel_name, err
                )
                rendered = copy.copy(self)
                rendered.render_template_fields(context, jinja_env=self.get_template_env(dag=None))  # type: ignore[arg-type]
            rendered.notify(context)
            self.log.info(
                "%s alert sent (connection %s) for %s", self.channel_name, self.connection_id, where
            )
        except Exception as err:
            self.log.error(
                "%s alert for %s was not sent (connection %s): %s. The task and DAG run states are "
                "not affected.",
                self.channel_name,
                where,
                self.connection_id,
                safe_error(err),
            )


def describe_context(context: Mapping[str, Any]) -> str:
    """``DAG x, task y, run z``: what a log line about a callback names.

    :param context: the callback context.
    """
    dag = context.get("dag")
    ti = context.get("ti") or context.get("task_instance")
    parts = [f"DAG {getattr(dag, 'dag_id', '?')}"]
    task_id = getattr(ti, "task_id", None)
    if task_id and "reason" not in context:
        parts.append(f"task {task_id}")
    run_id = getattr(ti, "run_id", None) or context.get("run_id")
    if run_id:
        parts.append(f"run {run_id}")
    return ", ".join(parts)


def _redacted(text: str | None) -> str | None:
    """``text`` with every secret the masker knows replaced by ``***``."""
    if not text:
        return text
    return str(compat.redact(str(text)))


def redacted_card(card: AlertCard) -> AlertCard:
    """A copy of ``card`` whose every text has passed through the secrets masker.

    :param card: the alert.
    """
    return dataclasses.replace(
        card,
        title=_redacted(card.title) or "",
        subtitle=_redacted(card.subtitle) or "",
        message=_redacted(card.message) or "",
        facts=[(str(_redacted(name)), str(_redacted(value))) for name, value in card.facts],
        exception=_redacted(card.exception),
        button_text=_redacted(card.button_text) or "",
        button_url=_redacted(card.button_url),
    )


def safe_error(err: BaseException) -> str:
    """The error as text, passed through the secrets masker (a requests error quotes the URL).

    :param err: the error.
    """
    text = f"{type(err).__name__}: {err}"
    with contextlib.suppress(Exception):
        text = str(compat.redact(text))
    return text[:2000]
