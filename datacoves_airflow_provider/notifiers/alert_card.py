"""What an alert says, independent of the channel: read from an Airflow callback context.

``alert_card(context, ...)`` returns an :class:`AlertCard` (title, subtitle, message, facts, the
exception, a button and a colour); ``ms_teams`` and ``slack`` render it as an Adaptive Card,
a MessageCard or Slack blocks. Works with the contexts of every callback kind on both Airflow
lines: task callbacks (full context), DAG callbacks (the context of the run's last task instance
plus ``reason``, or only ``dag``/``run_id``/``reason`` in Airflow 3's DAG processor) and Airflow 2
SLA-miss callbacks (``dag``, ``task_list``, ``slas``, ...).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from datacoves_airflow_provider.notifiers.log_url import dag_run_url, task_log_url

__all__ = [
    "CONTAINER_STYLE_COLORS",
    "EVENTS",
    "NAMED_COLORS",
    "AlertCard",
    "alert_card",
    "detect_event",
    "hex_color",
    "named_color",
    "parse_hex",
    "text_color",
    "truncate",
]

#: What a callback reports.
EVENTS = ("success", "failure", "retry", "sla_miss")

#: Adaptive Card colour names, with the hex colour used where a channel takes hex (MessageCard, Slack).
#: ``emphasis`` is an Adaptive Card *Container style*, not a text colour (Datacoves' Teams docs list
#: it with the others): see :data:`CONTAINER_STYLE_COLORS`. It has no hue of its own; channels that
#: take hex show it as Teams' brand purple.
NAMED_COLORS: dict[str, str] = {
    "good": "2EB886",
    "attention": "D63333",
    "warning": "E8A317",
    "accent": "0078D4",
    "default": "808080",
    "dark": "333333",
    "light": "DDDDDD",
    "emphasis": "6264A7",
}

#: Names that are Adaptive Card Container styles but not TextBlock colours, with the text colour the
#: title takes instead: the card puts its message and facts in a Container of that style (a shaded
#: panel in Teams).
CONTAINER_STYLE_COLORS: dict[str, str] = {"emphasis": "default"}

_EVENT_COLOR = {"success": "good", "failure": "attention", "retry": "warning", "sla_miss": "warning"}
_EVENT_WORD = {
    "success": "succeeded",
    "failure": "failed",
    "retry": "is up for retry",
    "sla_miss": "missed its SLA",
}

#: Longest texts sent: the message and the exception (Teams rejects cards over about 28 KB).
MAX_MESSAGE_CHARS = 3000
MAX_EXCEPTION_CHARS = 2000


def truncate(text: str, limit: int) -> str:
    """``text`` cut to about ``limit`` characters, keeping its start and its end (the end of an
    error message or traceback is usually the informative part).

    :param text: the text.
    :param limit: the most characters to keep.
    """
    if len(text) <= limit:
        return text
    head = limit * 2 // 3
    tail = limit - head
    cut = len(text) - head - tail
    return f"{text[:head]}\n… [{cut} characters cut] …\n{text[-tail:]}"


def named_color(color: str | None, event: str) -> str:
    """An Adaptive Card colour name for ``color`` (a name, or a hex colour mapped to the nearest
    name by hue), or the event's colour when ``color`` is empty.

    :param color: ``good``, ``warning``, ``attention``, ``accent``, ``default``, ``dark``,
        ``light``, ``emphasis`` (a Container style, see :func:`text_color`), or a hex colour such as
        ``FF0000`` / ``#FF0000``.
    :param event: one of :data:`EVENTS`.
    """
    if not color:
        return _EVENT_COLOR.get(event, "default")
    text = str(color).strip().lower()
    if text in NAMED_COLORS:
        return text
    rgb = parse_hex(text)
    if rgb is None:
        return _EVENT_COLOR.get(event, "default")
    import colorsys

    hue, lightness, saturation = colorsys.rgb_to_hls(*(c / 255 for c in rgb))
    if saturation < 0.2 or lightness in (0.0, 1.0):
        return "dark" if lightness < 0.25 else "light" if lightness > 0.85 else "default"
    degrees = hue * 360
    if degrees < 20 or degrees >= 330:
        return "attention"
    if degrees < 70:
        return "warning"
    if degrees < 170:
        return "good"
    return "accent"


def text_color(name: str) -> str:
    """The Adaptive Card TextBlock colour for a name :func:`named_color` returned: the name itself,
    except for Container styles that are no text colour (``emphasis`` -> ``default``).

    :param name: an Adaptive Card colour name or Container style.
    """
    return CONTAINER_STYLE_COLORS.get(name, name)


def hex_color(color: str | None, event: str) -> str:
    """A six-digit hex colour (no ``#``) for ``color`` (hex kept, names mapped), or the event's.

    :param color: a hex colour or an Adaptive Card colour name.
    :param event: one of :data:`EVENTS`.
    """
    if color and parse_hex(str(color).strip().lower()) is not None:
        return str(color).strip().lstrip("#").upper()
    return NAMED_COLORS[named_color(color, event)]


def parse_hex(text: str) -> tuple[int, int, int] | None:
    """The red, green and blue of a hex colour (``FF0000``, ``#f00``), or None when ``text`` is not one.

    :param text: the colour, lower-cased.
    """
    text = text.lstrip("#")
    if len(text) == 3:
        text = "".join(c * 2 for c in text)
    if len(text) != 6:
        return None
    try:
        return int(text[0:2], 16), int(text[2:4], 16), int(text[4:6], 16)
    except ValueError:
        return None


@dataclass
class AlertCard:
    """The content of one alert."""

    event: str
    #: ``"task"``, ``"dag"`` or ``"sla"``.
    scope: str
    title: str
    subtitle: str
    message: str
    facts: list[tuple[str, str]] = field(default_factory=list)
    exception: str | None = None
    button_text: str = "View Log"
    button_url: str | None = None
    #: Adaptive Card colour name, or ``emphasis`` (a Container style: see :func:`text_color`).
    color: str = "default"
    #: The same colour as six hex digits.
    color_hex: str = "808080"


def _get(obj: Any, name: str, default: Any = None) -> Any:
    if obj is None:
        return default
    if isinstance(obj, Mapping):
        return obj.get(name, default)
    try:
        return getattr(obj, name, default)
    except Exception:  # lazy attributes of a detached ORM row, ...
        return default


def _state_text(value: Any) -> str | None:
    if value is None:
        return None
    return str(getattr(value, "value", value))


def detect_event(context: Mapping[str, Any]) -> str:
    """Which callback kind delivered ``context``: ``success``, ``failure``, ``retry`` or ``sla_miss``.

    SLA-miss callbacks carry ``slas``; DAG callbacks carry ``reason`` (``"success"`` or why the run
    failed); task callbacks run after the task instance got its final state.

    :param context: the callback context.
    """
    if "slas" in context or "blocking_task_list" in context:
        return "sla_miss"
    if "reason" in context and context.get("reason") is not None:
        return "success" if str(context.get("reason")) == "success" else "failure"
    state = _state_text(_get(context.get("ti") or context.get("task_instance"), "state"))
    if state == "up_for_retry":
        return "retry"
    if state in ("failed", "upstream_failed"):
        return "failure"
    if state == "success":
        return "success"
    return "failure" if context.get("exception") else "success"


def _duration(start: Any, end: Any) -> str | None:
    if not isinstance(start, datetime):
        return None
    if not isinstance(end, datetime):
        end = datetime.now(timezone.utc) if start.tzinfo else datetime.now()
    seconds = max((end - start).total_seconds(), 0.0)
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, sec = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m {sec:02d}s" if hours else f"{minutes}m {sec:02d}s"


def _exception_text(exc: Any) -> str | None:
    if exc is None or exc == "":
        return None
    text = f"{type(exc).__name__}: {exc}" if isinstance(exc, BaseException) else str(exc)
    try:
        from datacoves_airflow_provider import compat

        text = str(compat.redact(text))
    except Exception:  # the masker is best effort here; Airflow masks the task log anyway
        pass
    return truncate(text, MAX_EXCEPTION_CHARS)


def alert_card(
    context: Mapping[str, Any],
    *,
    event: str | None = None,
    message: str | None = None,
    title: str | None = None,
    subtitle: str | None = None,
    theme_color: str | None = None,
    button_text: str | None = None,
    button_url: str | None = None,
) -> AlertCard:
    """Build the alert for a callback ``context`` (texts already rendered by the notifier).

    :param context: the callback context.
    :param event: the callback kind; default: :func:`detect_event`.
    :param message: the body; default: a sentence naming the DAG, task and outcome.
    :param title: the heading; default: DAG, task and outcome.
    :param subtitle: the line under the heading; default: the run id.
    :param theme_color: a colour name or hex colour; default: by event (good, attention, warning).
    :param button_text: the button's label; default ``View Log``.
    :param button_url: the button's link; default: the task try's log page (DAG run page for DAG
        callbacks without a task instance) in this Airflow's UI.
    """
    event = event or detect_event(context)
    dag = context.get("dag")
    ti = context.get("ti") or context.get("task_instance")
    dag_run = context.get("dag_run")
    dag_id = str(_get(dag, "dag_id") or _get(ti, "dag_id") or _get(dag_run, "dag_id") or "?")
    run_id = _get(ti, "run_id") or _get(dag_run, "run_id") or context.get("run_id")
    task_id = _get(ti, "task_id")
    try_number = _get(ti, "try_number")
    map_index = _get(ti, "map_index")
    is_dag_callback = "reason" in context
    scope = "sla" if event == "sla_miss" else "dag" if is_dag_callback else "task"

    facts: list[tuple[str, str]] = [("DAG", dag_id)]
    state: str | None
    if scope == "sla":
        slas = context.get("slas") or []
        missed = sorted({str(_get(s, "task_id")) for s in slas if _get(s, "task_id")})
        if missed:
            facts.append(("Tasks", ", ".join(missed)))
        blocking = context.get("blocking_task_list")
        if blocking:
            facts.append(("Blocking", str(blocking)))
        state = "sla_miss"
        duration = None
    elif scope == "dag":
        # the run's final state; Airflow 2 may hand over a dag_run still marked "running"
        state = _state_text(_get(dag_run, "state"))
        if state not in ("success", "failed"):
            state = "success" if event == "success" else "failed"
        if run_id:
            facts.append(("Run", str(run_id)))
        if task_id:
            facts.append(("Last task", str(task_id)))
        duration = _duration(_get(dag_run, "start_date"), _get(dag_run, "end_date"))
        reason = context.get("reason")
        if reason and reason != "success":
            facts.append(("Reason", str(reason)))
    else:
        state = _state_text(_get(ti, "state")) or event
        if task_id:
            facts.append(
                (
                    "Task",
                    str(task_id)
                    + (f" [{map_index}]" if isinstance(map_index, int) and map_index >= 0 else ""),
                )
            )
        if run_id:
            facts.append(("Run", str(run_id)))
        if try_number is not None:
            max_tries = _get(ti, "max_tries")
            total = f" of {int(max_tries) + 1}" if isinstance(max_tries, int) and max_tries >= 0 else ""
            facts.append(("Try", f"{try_number}{total}"))
        duration = _duration(_get(ti, "start_date"), _get(ti, "end_date"))
    facts.append(("State", state or event))
    if duration:
        facts.append(("Duration", duration))
    logical_date = context.get("logical_date") or _get(dag_run, "logical_date")
    if logical_date:
        facts.append(("Logical date", str(logical_date)))

    word = _EVENT_WORD.get(event, event)
    if scope == "task" and task_id:
        default_title = f"{dag_id}: task {task_id} {word}"
        default_message = f"Task {task_id} of DAG {dag_id} {word}."
    else:
        default_title = f"DAG {dag_id} {word}"
        default_message = f"DAG {dag_id} {word}."

    if button_url is None and scope != "sla" and run_id and task_id:
        button_url = task_log_url(
            dag_id=dag_id,
            run_id=str(run_id),
            task_id=str(task_id),
            map_index=map_index if isinstance(map_index, int) else None,
            try_number=try_number if isinstance(try_number, int) else None,
        )
    elif button_url is None:
        button_url = dag_run_url(dag_id=dag_id, run_id=str(run_id) if run_id else None)

    exception = _exception_text(context.get("exception")) if event in ("failure", "retry") else None
    return AlertCard(
        event=event,
        scope=scope,
        title=truncate(title or default_title, 300),
        subtitle=truncate(subtitle if subtitle is not None else (f"Run {run_id}" if run_id else ""), 300),
        message=truncate(message or default_message, MAX_MESSAGE_CHARS),
        facts=[(name, truncate(value, 300)) for name, value in facts],
        exception=exception,
        button_text=button_text or "View Log",
        button_url=button_url,
        color=named_color(theme_color, event),
        color_hex=hex_color(theme_color, event),
    )
