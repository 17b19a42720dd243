"""MSTeamsNotifier and SlackNotifier in real Airflow runs, posting to a recording HTTP server.

``airflow dags test`` runs task callbacks (success, retry, failure; alone and in lists; from
default_args) and DAG callbacks on both lines; a real deployment (scheduler, and on Airflow 3
api-server and dag-processor) runs DAG callbacks where production runs them, and serves the UI the
"View Log" button opens. Adaptive Cards are validated against the official JSON schema.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from harness.airflow_cluster import airflow_cluster
from harness.airflow_env import run_dag
from harness.paths import airflow_major
from harness.webhook_recorder import WebhookRecorder, webhook_recorder

DAGS = Path(__file__).parent / "dags"
SECRETS = ("SECRETSIG0123456789", "BROKENSIG0123456789", "SLACKSECRET0123456", "CONNTOKEN0123456789")


def adaptive_card_schema() -> dict:
    import adaptive_cards

    return json.loads((Path(adaptive_cards.__file__).parent / "schemas" / "schema-1.5.json").read_text())


def validate_adaptive_card(card: dict) -> None:
    import jsonschema

    jsonschema.validate(card, adaptive_card_schema())


def connections(url: str) -> dict[str, str]:
    """AIRFLOW_CONN_* for every webhook the scenarios name, all pointing at the recorder."""
    return {
        "AIRFLOW_CONN_TEAMS_ALERTS": json.dumps(
            {
                "conn_type": "http",
                "host": f"{url}/workflows/abc123def/triggers/manual/paths/invoke?api-version=1&sig={SECRETS[0]}",
            }
        ),
        "AIRFLOW_CONN_TEAMS_CONNECTOR": json.dumps(
            {
                "conn_type": "http",
                "host": f"{url}/webhookb2/",
                "password": f"{SECRETS[3]}/IncomingWebhook/abc",
                "extra": {"webhook_kind": "connector"},
            }
        ),
        "AIRFLOW_CONN_TEAMS_BROKEN": json.dumps(
            {"conn_type": "http", "host": f"{url}/status/500/BROKENPATH0123456?sig={SECRETS[1]}"}
        ),
        "AIRFLOW_CONN_SLACK": json.dumps(
            {"conn_type": "slackwebhook", "password": f"{url}/slack/services/T000/B000/{SECRETS[2]}"}
        ),
    }


def by_title(recorder: WebhookRecorder) -> dict[str, list[tuple[str, dict, str]]]:
    """Each request as (kind, payload, path), grouped by the card's title (the scenario tag)."""
    result: dict[str, list[tuple[str, dict, str]]] = {}
    for req in recorder.snapshot():
        payload = req.json()
        if payload.get("type") == "message":
            kind, title = "workflows", payload["attachments"][0]["content"]["body"][0]["text"]
        elif payload.get("@type") == "MessageCard":
            kind, title = "connector", payload["title"]
        else:
            kind, title = "slack", payload["attachments"][0]["blocks"][0]["text"]["text"]
        result.setdefault(title, []).append((kind, payload, req.path))
    return result


def card_of(entry: tuple[str, dict, str]) -> dict:
    kind, payload, _ = entry
    assert kind == "workflows"
    envelope = payload["attachments"][0]
    assert envelope["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert envelope["contentUrl"] is None
    return envelope["content"]


def facts(card: dict) -> dict[str, str]:
    (fact_set,) = [b for b in card["body"] if b["type"] == "FactSet"]
    return {f["title"]: f["value"] for f in fact_set["facts"]}


def view_log_url(card: dict) -> str:
    (action,) = card["actions"]
    assert action["type"] == "Action.OpenUrl" and action["title"] == "View Log"
    return action["url"]


def check_log_url(url: str, base: str, dag_id: str, task_id: str | None, try_number: int | None) -> None:
    """The URL has the shape of this Airflow line's log page (see notifiers/log_url.py)."""
    assert url.startswith(base.rstrip("/") + "/dags/"), url
    parts = urlsplit(url[len(base.rstrip("/")) :])
    if airflow_major() >= 3:
        if task_id == "*":  # a DAG callback: the log of the run's last task instance, or the run
            assert re.fullmatch(rf"/dags/{dag_id}/runs/[^/]+(/tasks/[^/]+)?", parts.path), url
        elif task_id:
            assert re.fullmatch(rf"/dags/{dag_id}/runs/[^/]+/tasks/{task_id}", parts.path), url
            assert parse_qs(parts.query) == {"try_number": [str(try_number)]}, url
        else:
            assert re.fullmatch(rf"/dags/{dag_id}/runs/[^/]+", parts.path), url
    else:
        assert parts.path == f"/dags/{dag_id}/grid", url
        query = parse_qs(parts.query)
        assert query["dag_run_id"], url
        if task_id == "*":
            assert query.get("tab", ["logs"]) == ["logs"], url
        elif task_id:
            assert query["task_id"] == [task_id] and query["tab"] == ["logs"], url


def check_scenarios(recorded: dict, output: str, base_url: str, *, dag_callbacks_have_ti: bool) -> None:
    """What both ways of running the scenarios must have posted."""
    expected = {
        "task-retry",
        "task-success-list-teams",
        "task-success-list-slack",
        "task-success-connector",
        "broken-webhook",
        "dag-success-single",
        "task-failure-default-args",
        "dag-failure-list-teams",
        "dag-failure-list-slack",
        "dag-failure-inform",
    }
    assert expected <= set(recorded), sorted(recorded)
    assert "unexpected-dag-failure" not in recorded
    for tag in expected - {"broken-webhook"}:
        assert len(recorded[tag]) == 1, (tag, len(recorded[tag]))
    # bounded retries on 5xx: the first attempt and one retry (retries=1)
    assert len(recorded["broken-webhook"]) == 2

    for entries in recorded.values():
        for kind, payload, _path in entries:
            if kind == "workflows":
                validate_adaptive_card(payload["attachments"][0]["content"])

    # the retry: try 1, warning colour, the exception text from the template and the card
    retry = card_of(recorded["task-retry"][0])
    assert retry["body"][0]["color"] == "warning"
    assert facts(retry)["State"] == "up_for_retry"
    assert facts(retry)["Try"] == "1 of 2"
    assert "flaky try 1 failed: first try fails on purpose" in retry["body"][2]["text"]
    check_log_url(view_log_url(retry), base_url, "notify_success", "flaky", 1)

    # the success on the second try, from a list of three callbacks (Teams, Slack, connector)
    success = card_of(recorded["task-success-list-teams"][0])
    assert success["body"][0]["color"] == "good"
    assert facts(success)["Try"] == "2 of 2" and facts(success)["State"] == "success"
    if airflow_major() >= 3:  # (2.11 under `dags test` gave no start date to read a duration from)
        assert "Duration" in facts(success)
    check_log_url(view_log_url(success), base_url, "notify_success", "flaky", 2)

    slack = recorded["task-success-list-slack"][0][1]
    blocks = slack["attachments"][0]["blocks"]
    assert slack["attachments"][0]["color"] == "#2EB886"
    (button,) = blocks[-1]["elements"]
    assert button["text"]["text"] == "View Log"
    check_log_url(button["url"], base_url, "notify_success", "flaky", 2)

    connector = recorded["task-success-connector"][0][1]
    assert connector["themeColor"] == "0000FF"
    assert connector["potentialAction"][0]["targets"][0]["uri"] == view_log_url(success)
    assert recorded["task-success-connector"][0][2].startswith("/webhookb2/")

    # DAG success: Jinja with quotes and emoji arrives intact
    dag_success = card_of(recorded["dag-success-single"][0])
    assert dag_success["body"][2]["text"].startswith("DAG notify_success succeeded at ")
    assert dag_success["body"][2]["text"].endswith(' "quoted" ✅')
    assert facts(dag_success)["State"] == "success"
    check_log_url(
        view_log_url(dag_success),
        base_url,
        "notify_success",
        "*" if dag_callbacks_have_ti else None,
        1,
    )

    # task failure from default_args: quotes, newline, emoji, JSON-looking text intact, long text cut
    failure = card_of(recorded["task-failure-default-args"][0])
    assert failure["body"][0]["color"] == "attention"
    message = failure["body"][2]["text"]
    assert message.startswith(
        'Task explode failed: He said "hi" & left\nline two ✅🚀 {"injected": true} <b>xxx'
    )
    assert message.endswith("x THE END") and "characters cut" in message and len(message) < 3200
    (container,) = [b for b in failure["body"] if b["type"] == "Container"]
    exception = container["items"][0]["text"]
    assert exception.startswith('ValueError: He said "hi" & left\nline two ✅🚀') and exception.endswith(
        "THE END"
    )
    assert len(exception) < 2200
    check_log_url(view_log_url(failure), base_url, "notify_failure", "explode", 1)

    # DAG failure callbacks in a list: every one of them ran
    for tag in ("dag-failure-list-teams", "dag-failure-inform"):
        card = card_of(recorded[tag][0])
        assert facts(card)["State"] == "failed"
        assert "Reason" in facts(card)
        check_log_url(view_log_url(card), base_url, "notify_failure", "*", 1)
    assert card_of(recorded["dag-failure-list-teams"][0])["body"][0]["color"] == "accent"
    assert recorded["dag-failure-list-slack"][0][1]["attachments"][0]["color"] == "#D63333"

    # the failing webhook is reported, and no secret part of any URL reaches the logs
    assert "was not sent (connection teams_broken)" in output
    assert "answered HTTP 500" in output
    for secret in SECRETS:
        assert secret not in output


@pytest.fixture(scope="module")
def scenario_dags(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("notifier_dags")
    shutil.copy(DAGS / "notifier_scenarios.py", folder)
    return folder


@pytest.mark.slow
def test_callbacks_with_dags_test(airflow_home, scenario_dags, tmp_path):
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    base_url = "https://airflow.example.com/my-env"
    base_var = "AIRFLOW__API__BASE_URL" if airflow_major() >= 3 else "AIRFLOW__WEBSERVER__BASE_URL"
    with webhook_recorder() as recorder:
        env = {"EVIDENCE": str(evidence), base_var: base_url, **connections(recorder.url)}
        ok = run_dag(airflow_home, scenario_dags, "notify_success", **env)
        assert ok.returncode == 0, ok.output[-5000:]
        assert ok.states == {"flaky": "success", "alert_fails": "success"}
        failed = run_dag(airflow_home, scenario_dags, "notify_failure", **env)
        assert failed.states == {"explode": "failed"}
        recorded = by_title(recorder)
    check_scenarios(recorded, ok.output + failed.output, base_url, dag_callbacks_have_ti=True)


@pytest.mark.slow
def test_callbacks_in_a_real_deployment(tmp_path, scenario_dags):
    """DAG callbacks where production runs them (2.x: the scheduler's DAG file processor; 3.x: the
    dag-processor), the connection found under its upper-cased name in the metadata database, and
    the View Log link opened on this deployment's UI."""
    evidence = tmp_path / "evidence"
    evidence.mkdir()
    with webhook_recorder() as recorder:
        conns = connections(recorder.url)
        teams_alerts = json.loads(conns.pop("AIRFLOW_CONN_TEAMS_ALERTS"))
        env = {"EVIDENCE": str(evidence), **conns}
        with airflow_cluster(tmp_path / "airflow", scenario_dags, **env) as cluster:
            # stored the way Datacoves stores an integration's connection: upper case, in the database
            cluster.cli("connections", "add", "TEAMS_ALERTS", "--conn-json", json.dumps(teams_alerts))
            runs = {dag_id: cluster.trigger(dag_id) for dag_id in ("notify_success", "notify_failure")}
            states = {dag_id: cluster.wait_for_run(dag_id, run_id) for dag_id, run_id in runs.items()}
            assert states == {"notify_success": "success", "notify_failure": "failed"}, cluster.logs()
            deadline = time.monotonic() + 90  # DAG callbacks run asynchronously after the run ends
            while time.monotonic() < deadline:
                recorded = by_title(recorder)
                if {"dag-success-single", "dag-failure-list-teams", "dag-failure-inform"} <= set(recorded):
                    break
                time.sleep(1)
            output = "\n".join(
                cluster.task_log(dag_id, run_id, task_id, attempt)
                for dag_id, run_id in runs.items()
                for task_id in cluster.task_tries(dag_id, run_id)
                for attempt in (1, 2)
            )
            output += "\n".join(p.read_text(errors="replace") for p in (tmp_path / "airflow").rglob("*.log"))
            output += cluster.logs()
            base_url = (
                cluster.env.get("AIRFLOW__API__BASE_URL") if airflow_major() >= 3 else "http://localhost:8080"
            )
            check_scenarios(recorded, output, base_url, dag_callbacks_have_ti=True)
            urls = [
                view_log_url(card_of(recorded[tag][0]))
                for tag in ("task-retry", "task-success-list-teams", "task-failure-default-args")
            ]
            for url in urls:
                dag_id, run_id, task_id = ids_in_log_url(url)
                assert cluster.sql(
                    "select 1 from task_instance where dag_id = %s and run_id = %s and task_id = %s",
                    dag_id,
                    run_id,
                    task_id,
                ), url
                assert run_id == runs[dag_id]
            if airflow_major() >= 3:
                check_urls_on_api_server(urls)
            else:
                check_urls_on_flask_routes(urls, cluster.env)


def ids_in_log_url(url: str) -> tuple[str, str, str]:
    from urllib.parse import unquote

    parts = urlsplit(url)
    if airflow_major() >= 3:
        match = re.fullmatch(r"/dags/([^/]+)/runs/([^/]+)/tasks/([^/]+)", parts.path)
        assert match, url
        return unquote(match[1]), unquote(match[2]), unquote(match[3])
    query = parse_qs(parts.query)
    return parts.path.split("/")[2], query["dag_run_id"][0], query["task_id"][0]


def ui_routes() -> list[str]:
    """The route patterns of Airflow 3's React UI, from its built bundle."""
    import airflow

    dist = Path(airflow.__file__).parent / "ui" / "dist" / "assets"
    routes: set[str] = set()
    for bundle in dist.glob("index-*.js"):
        routes.update(re.findall(r"path:`(dags/[^`]*)`", bundle.read_text(errors="replace")))
    assert routes, "no routes found in the UI bundle"
    return sorted(routes)


def check_urls_on_api_server(urls: list[str]) -> None:
    routes = ui_routes()
    for url in urls:
        path = urlsplit(url).path.lstrip("/")
        matches = [
            r
            for r in routes
            if re.fullmatch(
                "/".join("[^/]+" if seg.startswith(":") else re.escape(seg) for seg in r.split("/")), path
            )
        ]
        assert "dags/:dagId/runs/:runId/tasks/:taskId" in matches, (url, routes)
        with urllib.request.urlopen(url, timeout=30) as response:  # the api-server serves the UI page
            assert response.status == 200
            assert "text/html" in response.headers["Content-Type"]


def check_urls_on_flask_routes(urls: list[str], env: dict[str, str]) -> None:
    """Airflow 2's webserver routes (its Flask app, built against the deployment's database)."""
    code = (
        "import sys\n"
        "from urllib.parse import urlsplit\n"
        "from airflow.www.app import create_app\n"
        "app = create_app(testing=True)\n"
        "adapter = app.url_map.bind('localhost')\n"
        "for url in sys.argv[1:]:\n"
        "    endpoint, args = adapter.match(urlsplit(url).path, method='GET')\n"
        "    print('ROUTE', endpoint, args)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, *urls], env=env, capture_output=True, text=True, timeout=180
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = [line for line in proc.stdout.splitlines() if line.startswith("ROUTE ")]
    assert len(lines) == len(urls)
    for line in lines:
        assert line.startswith("ROUTE Airflow.grid "), line


def test_webhook_kind_and_url_from_every_connection_shape():
    from datacoves_airflow_provider.hooks.ms_teams_webhook import (
        connection_id_candidates,
        redacted_url,
        url_from_connection,
        webhook_kind_of,
    )

    workflows = (
        "https://prod-12.westus.logic.azure.com:443/workflows/0a1b/triggers/manual/paths/invoke?sig=S3CR3T"
    )
    power = "https://default0a1b.2c.environment.api.powerplatform.com:443/powerautomate/automations/direct/workflows/x"
    connector = "https://acme.webhook.office.com/webhookb2/guid@guid/IncomingWebhook/hex/guid"
    assert webhook_kind_of(workflows) == webhook_kind_of(power) == "workflows"
    assert webhook_kind_of(connector) == "connector"
    assert (
        webhook_kind_of("https://outlook.office.com/webhook/guid@guid/IncomingWebhook/hex/guid")
        == "connector"
    )
    assert redacted_url(workflows) == "https://prod-12.westus.logic.azure.com/…"

    assert url_from_connection(host=workflows, password=None) == workflows
    assert url_from_connection(host="x", password=None, extra={"webhook_url": workflows}) == workflows
    assert url_from_connection(host=None, password=None, extra={"url": workflows}) == workflows
    assert url_from_connection(
        host="https://outlook.office.com/webhook/", password="guid@guid/IncomingWebhook/h"
    ) == ("https://outlook.office.com/webhook/guid@guid/IncomingWebhook/h")
    assert url_from_connection(host="127.0.0.1", port=8080, schema="http", password="hook/tok") == (
        "http://127.0.0.1:8080/hook/tok"
    )
    assert url_from_connection(host=None, password=connector) == connector
    assert url_from_connection(host=None, password=None) is None
    assert connection_id_candidates("ms_teams") == ["ms_teams", "MS_TEAMS"]
    assert connection_id_candidates("ms teams") == ["ms teams", "MS_TEAMS"]
    assert connection_id_candidates("MS_TEAMS") == ["MS_TEAMS"]


def test_colours_and_truncation():
    from datacoves_airflow_provider.notifiers.alert_card import hex_color, named_color, truncate

    assert named_color(None, "failure") == "attention"
    assert named_color("Good", "failure") == "good"
    assert named_color("FF0000", "success") == "attention"
    assert named_color("#00FF00", "failure") == "good"
    assert named_color("0000FF", "failure") == "accent"
    assert named_color("FFEA00", "failure") == "warning"
    assert hex_color("9900ff", "success") == "9900FF"
    assert hex_color("attention", "success") == "D63333"
    text = "a" * 100 + "b" * 100
    cut = truncate(text, 60)
    assert cut.startswith("a" * 40) and cut.endswith("b" * 20) and "140 characters cut" in cut


def test_every_theme_color_datacoves_documents_gives_a_valid_card():
    """Datacoves' Teams docs list default, emphasis, good, attention, warning and accent (Adaptive
    Card Container styles); ``emphasis`` is no text colour: the title keeps the default colour and
    the message and facts sit in an emphasis Container. Slack and connector cards get hex."""
    from datacoves_airflow_provider.notifiers.alert_card import alert_card, hex_color, named_color, text_color
    from datacoves_airflow_provider.notifiers.ms_teams import MSTeamsNotifier, adaptive_card, message_card
    from datacoves_airflow_provider.notifiers.slack import SlackNotifier, slack_message

    context = {"run_id": "r1", "reason": "task_failure"}
    for name in ("default", "emphasis", "good", "attention", "warning", "accent", " Emphasis "):
        MSTeamsNotifier(theme_color=name)  # accepted at parse time
        SlackNotifier(theme_color=name)
        card = alert_card(context, theme_color=name)
        payload = adaptive_card(card)
        validate_adaptive_card(payload)
        assert payload["body"][0]["color"] == text_color(named_color(name, "failure"))
        assert message_card(card)["themeColor"] == hex_color(name, "failure")
        assert slack_message(card)["attachments"][0]["color"] == f"#{hex_color(name, 'failure')}"
    assert named_color(" Emphasis ", "failure") == "emphasis" and text_color("emphasis") == "default"
    assert hex_color("emphasis", "failure") == "6264A7"
    emphasis = adaptive_card(alert_card(context, theme_color="emphasis"))
    assert emphasis["body"][0]["color"] == "default"
    (panel,) = [b for b in emphasis["body"] if b["type"] == "Container"]
    assert panel["style"] == "emphasis" and [i["type"] for i in panel["items"]] == ["TextBlock", "FactSet"]
    accent = adaptive_card(alert_card(context, theme_color="accent"))
    assert accent["body"][0]["color"] == "accent" and not [
        b for b in accent["body"] if b["type"] == "Container"
    ]
    with pytest.raises(ValueError, match=r"light, emphasis\) or a hex colour"):
        MSTeamsNotifier(theme_color="blurple")


def test_sla_miss_callback_signature_and_a_notifier_never_raises(tmp_path):
    """Airflow 2 calls sla_miss_callback with five arguments; a missing connection is logged."""
    code = """
import json, os
from datetime import datetime, timezone
from types import SimpleNamespace
from airflow.models.dag import DAG
from notifiers.datacoves.ms_teams import MSTeamsNotifier, inform_sla_miss
dag = DAG("sla_dag", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc))
slas = [SimpleNamespace(task_id="slow_task"), SimpleNamespace(task_id="slower_task")]
inform_sla_miss(dag, "slow_task", "blocker", slas, [], connection_id="teams alerts", title="sla")
MSTeamsNotifier(connection_id="does_not_exist")({"dag": dag, "run_id": "r1", "reason": "success"})
print("still here")
"""
    with webhook_recorder() as recorder:
        env = {**airflow_env_for_unit(tmp_path), **connections(recorder.url)}
        proc = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
        )
        recorded = by_title(recorder)
    assert proc.returncode == 0 and "still here" in proc.stdout, proc.stderr[-3000:]
    assert "no Airflow connection 'does_not_exist' or 'DOES_NOT_EXIST'" in proc.stdout + proc.stderr
    card = card_of(recorded["sla"][0])
    validate_adaptive_card(card)
    assert facts(card)["Tasks"] == "slow_task, slower_task"
    assert card["body"][0]["color"] == "warning"
    assert any("missed its SLA" in b.get("text", "") for b in card["body"])


def airflow_env_for_unit(tmp_path: Path) -> dict[str, str]:
    from harness.airflow_env import airflow_env

    return airflow_env(tmp_path)


def test_rendered_texts_pass_through_the_secrets_masker(tmp_path):
    """A secret the masker knows, in the exception a ``{{ exception }}`` template renders (message,
    title, subtitle and button text), reaches neither a Teams card (Workflows and connector) nor a
    Slack message: the recorded request bodies show ``***`` in its place."""
    secret = "Masked-Secret-" + "5f0c2e9a71d4"
    code = """
import sys
from datetime import datetime, timezone
from airflow.models.dag import DAG
from datacoves_airflow_provider.compat import mask_secret
from notifiers.datacoves.ms_teams import MSTeamsNotifier
from notifiers.datacoves.slack import SlackNotifier
secret = sys.argv[1]
mask_secret(secret)
dag = DAG("leaky_dag", schedule=None, start_date=datetime(2024, 1, 1, tzinfo=timezone.utc))
context = {
    "dag": dag,
    "run_id": "r1",
    "reason": "task_failure",
    "exception": RuntimeError(f"login failed with password {secret}"),
}
texts = {
    "message": "Failed: {{ exception }}",
    "title": "masked-{{ exception }}",
    "subtitle": "{{ exception }}",
    "button_text": "Open {{ exception }}",
}
for notifier in (
    MSTeamsNotifier(connection_id="teams alerts", **texts),
    MSTeamsNotifier(connection_id="TEAMS_CONNECTOR", **texts),
    SlackNotifier(connection_id="slack", **texts),
):
    notifier(context)
print("sent")
"""
    with webhook_recorder() as recorder:
        env = {**airflow_env_for_unit(tmp_path), **connections(recorder.url)}
        proc = subprocess.run(
            [sys.executable, "-c", code, secret], env=env, capture_output=True, text=True, timeout=120
        )
        bodies = [req.body.decode("utf-8") for req in recorder.snapshot()]
    assert proc.returncode == 0 and "sent" in proc.stdout, proc.stderr[-3000:]
    assert len(bodies) == 3, bodies
    for body in bodies:
        assert secret not in body
        assert "login failed with password ***" in body


# -- bounded posts (issue 16, 6): Retry-After capped, a total deadline, replies capped -------------


def post_teams(monkeypatch: pytest.MonkeyPatch, url: str, *, timeout: float = 2, retries: int = 1) -> int:
    from datacoves_airflow_provider.hooks.ms_teams_webhook import MSTeamsWebhookHook

    monkeypatch.setenv("AIRFLOW_CONN_TEAMS_BOUNDED", json.dumps({"conn_type": "http", "host": url}))
    hook = MSTeamsWebhookHook(connection_id="teams_bounded", timeout=timeout, retries=retries)
    return hook.send({"type": "message", "attachments": []})


def post_slack(monkeypatch: pytest.MonkeyPatch, url: str, *, timeout: float = 2, retries: int = 1) -> None:
    from datacoves_airflow_provider.notifiers.alert_card import AlertCard
    from datacoves_airflow_provider.notifiers.slack import SlackNotifier

    monkeypatch.setenv(
        "AIRFLOW_CONN_SLACK_BOUNDED", json.dumps({"conn_type": "slackwebhook", "password": url})
    )
    card = AlertCard(event="success", scope="dag", title="t", subtitle="s", message="m")
    SlackNotifier(connection_id="slack_bounded", timeout=timeout, retries=retries).send(card)


@pytest.mark.parametrize("post", [post_teams, post_slack], ids=["teams", "slack"])
def test_webhook_posts_are_bounded(monkeypatch, post):
    """Budget: timeout 2 s x (1 retry + 1) = 4 s for the whole post."""
    from harness.unruly_http_server import unruly_server

    from datacoves_airflow_provider.hooks.ms_teams_webhook import MSTeamsWebhookError
    from datacoves_airflow_provider.notifiers.slack import SlackWebhookError

    errors = (MSTeamsWebhookError, SlackWebhookError)
    with unruly_server() as server:
        started = time.monotonic()
        with pytest.raises(errors, match=r"asked to be retried later \(Retry-After: 99999\)"):
            post(monkeypatch, f"{server.url}/retry-after/99999/services/T0/B0/SECRETHOOK0123")
        assert time.monotonic() - started < 3 and server.requests["retry-after/99999"] == 1

        started = time.monotonic()  # one byte a second never trips the 2 s read timeout
        with pytest.raises(errors, match="did not answer within this call's 4 s budget"):
            post(monkeypatch, f"{server.url}/trickle/1/services/T0/B0/SECRETHOOK0123")
        assert 3.5 < time.monotonic() - started < 9

        with pytest.raises(errors, match="larger than 1 MiB, the most this provider reads"):
            post(monkeypatch, f"{server.url}/huge-unannounced/100/services/T0/B0/SECRETHOOK0123")

        started = time.monotonic()  # a short Retry-After is honoured within the budget
        with pytest.raises(errors, match="503"):
            post(monkeypatch, f"{server.url}/retry-after/1/services/T0/B0/SECRETHOOK0123")
        assert 1 <= time.monotonic() - started < 4 and server.requests["retry-after/1"] == 2


# -- one callback for every environment: DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION (issue 17, 5) --

INTEGRATION_VARIABLE = "DATACOVES__AIRFLOW_NOTIFICATION_INTEGRATION"


@pytest.mark.slow
def test_inform_failure_alerts_through_the_environments_integration(airflow_home, tmp_path):
    """One DAG run (``notifier_integration.py``), parsed once with the variable `` Teams ``: the
    bare ``inform_failure`` from ``datacoves_airflow_provider.notifiers`` posts one Teams card to
    the default ``ms_teams`` connection, and under ``SLACK`` one Slack message to the default
    ``slack`` connection; ``emphasis`` gives a valid card (an emphasis Container) and a Slack colour;
    an empty or missing variable sends nothing and logs one INFO line, an unknown value one
    WARNING; the DAG-level callback and the Teams-only ``inform_failure(...)`` form alert too."""
    folder = tmp_path / "dags"
    folder.mkdir()
    shutil.copy(DAGS / "notifier_integration.py", folder)
    with webhook_recorder() as teams, webhook_recorder() as slack:
        env = {
            INTEGRATION_VARIABLE: " Teams ",
            "AIRFLOW_CONN_MS_TEAMS": json.dumps(
                {"conn_type": "http", "host": f"{teams.url}/workflows/default/invoke?sig={SECRETS[0]}"}
            ),
            "AIRFLOW_CONN_TEAMS_ALERTS": json.dumps(
                {"conn_type": "http", "host": f"{teams.url}/workflows/alerts/invoke?sig={SECRETS[0]}"}
            ),
            "AIRFLOW_CONN_SLACK": json.dumps(
                {
                    "conn_type": "slackwebhook",
                    "password": f"{slack.url}/slack/services/T000/B000/{SECRETS[2]}",
                }
            ),
        }
        result = run_dag(airflow_home, folder, "notify_integration", **env)
        to_teams, to_slack = by_title(teams), by_title(slack)
    tasks = ("fail_bare", "fail_emphasis", "fail_slack", "fail_slack_emphasis", "fail_empty", "fail_unset")
    assert result.states == {t: "failed" for t in (*tasks, "fail_unknown", "fail_teams_only")}, result.output[
        -5000:
    ]
    output = result.output

    assert sorted(to_teams) == sorted(
        [
            "notify_integration: task fail_bare failed",
            "integration-emphasis",
            "integration-dag-failure",
            "teams-inform-kwargs",
        ]
    ), sorted(to_teams)
    assert sorted(to_slack) == sorted(
        ["notify_integration: task fail_slack failed", "integration-emphasis-slack"]
    ), sorted(to_slack)
    for recorded in (to_teams, to_slack):
        for title, entries in recorded.items():
            assert len(entries) == 1, (title, len(entries))

    # Teams: the default connection ms_teams, an Adaptive Card with the failure
    kind, _, path = to_teams["notify_integration: task fail_bare failed"][0]
    assert kind == "workflows" and path.startswith("/workflows/default/")
    bare = card_of(to_teams["notify_integration: task fail_bare failed"][0])
    validate_adaptive_card(bare)
    assert bare["body"][0]["color"] == "attention"
    assert facts(bare)["State"] == "failed" and facts(bare)["Task"] == "fail_bare"
    (container,) = [b for b in bare["body"] if b["type"] == "Container"]
    assert "ValueError: bare callback, integration from the process" in container["items"][0]["text"]

    # emphasis: a Container style, not a text colour; the card stays valid
    kind, _, path = to_teams["integration-emphasis"][0]
    assert path.startswith("/workflows/alerts/")
    emphasis = card_of(to_teams["integration-emphasis"][0])
    validate_adaptive_card(emphasis)
    assert emphasis["body"][0] == {**emphasis["body"][0], "text": "integration-emphasis", "color": "default"}
    (panel,) = [b for b in emphasis["body"] if b.get("style") == "emphasis"]
    assert panel["type"] == "Container"
    assert [item["type"] for item in panel["items"]] == ["TextBlock", "FactSet"]
    assert "ValueError: emphasis on Teams" in json.dumps(emphasis)

    dag_failure = card_of(to_teams["integration-dag-failure"][0])
    validate_adaptive_card(dag_failure)
    assert dag_failure["body"][2]["text"] == "DAG notify_integration failed"
    assert facts(dag_failure)["State"] == "failed"
    validate_adaptive_card(card_of(to_teams["teams-inform-kwargs"][0]))

    # Slack: the default connection slack, the failure and its exception; emphasis as a side bar
    _, message, path = to_slack["notify_integration: task fail_slack failed"][0]
    assert path.startswith("/slack/services/")
    assert message["attachments"][0]["color"] == "#D63333"
    assert "ValueError: bare callback on a Slack environment" in json.dumps(message)
    assert to_slack["integration-emphasis-slack"][0][1]["attachments"][0]["color"] == "#6264A7"

    # no integration: nothing sent, exactly one INFO line each; an unknown one: one WARNING
    def lines(*fragments: str) -> list[str]:
        return [line for line in output.splitlines() if all(f in line for f in fragments)]

    prefix = "No alert sent for DAG notify_integration, task {}, run manual__"
    empty = lines(
        prefix.format("fail_empty"),
        f": {INTEGRATION_VARIABLE} is empty, so this environment has no notification integration. "
        "Set it to SLACK or TEAMS (Datacoves sets it when the environment has a Slack or MS Teams "
        "integration), or use MSTeamsNotifier/SlackNotifier directly.",
    )
    unset = lines(prefix.format("fail_unset"), f": {INTEGRATION_VARIABLE} is not set, so this environment")
    unknown = lines(
        prefix.format("fail_unknown"),
        f": {INTEGRATION_VARIABLE}='Discord' is not a notification integration this provider knows; "
        "accepted values: SLACK, TEAMS (case-insensitive).",
    )
    assert len(empty) == 1 and len(unset) == 1 and len(unknown) == 1, (empty, unset, unknown)
    assert "info" in empty[0].lower() and "info" in unset[0].lower()
    assert "warning" in unknown[0].lower()
    assert not lines("No alert sent", "fail_bare") and not lines("No alert sent", "fail_slack")
    for secret in SECRETS:
        assert secret not in output
