"""The DAG test toolkit's building blocks: static analysis of DAG sources, the validators, settings.

Validators run on real DAGs: small DAG files written here and loaded through ``load_dag_bag``.
"""

from __future__ import annotations

import textwrap
import uuid
import warnings
from pathlib import Path

import pytest
from harness.paths import airflow_major

from datacoves_airflow_provider.testing import dag_validators as checks
from datacoves_airflow_provider.testing.dag_check_settings import DagCheckSettings
from datacoves_airflow_provider.testing.dag_file_analysis import (
    classify_call,
    dynamic_start_dates,
    parse_time_calls,
    schedule_interval_uses,
)
from datacoves_airflow_provider.testing.dag_loader import dag_file_paths, load_dag_bag

# --- static analysis -------------------------------------------------------------------------------

PARSE_TIME_SOURCE = """\
import requests
import pendulum
from airflow.models import Variable as V
from airflow.hooks.base import BaseHook
from airflow.decorators import dag, task, task_group
from airflow.providers.snowflake.hooks.snowflake import SnowflakeHook
from airflow.models.dagrun import DagRun

TARGET = V.get("target")                                        # 9: module level


def helper():
    return BaseHook.get_connection("warehouse")                 # 13: called at parse time below


def only_in_tasks():
    return V.get("fine")                                        # 17: never called at parse time


@dag(schedule=None, tags=["{{ var.value.not_a_call }}"])
def my_dag(extra=requests.get("https://example.com/cfg")):     # 21: a default value
    conn = helper()
    SnowflakeHook(snowflake_conn_id="s")                        # 23: a hook built at parse time
    lazy = lambda: V.get("lazy")                                # noqa: E731 (runs later, if ever)

    @task
    def t():
        return V.get("in_task") + only_in_tasks()

    @task.datacoves_bash(env={"X": "{{ var.value.x }}"})
    def u():
        return V.get("in_decorated_task")

    @task_group
    def group():
        DagRun.find(dag_id="other")                             # 36: a task group body runs at parse time

    t() >> u()


my_dag()

if __name__ == "__main__":
    V.get("only when run as a script")


class Settings:
    schema = V.get("schema")                                    # 48: class bodies run at import

    def method(self):
        return V.get("in_method")
"""


def test_parse_time_calls_follow_what_runs_at_import():
    found = [(f.line, f.call, f.kind) for f in parse_time_calls(PARSE_TIME_SOURCE)]
    assert found == [
        (9, "V.get", "variable"),
        (13, "BaseHook.get_connection", "connection"),
        (21, "requests.get", "network"),
        (23, "SnowflakeHook", "hook"),
        (36, "DagRun.find", "database"),
        (48, "V.get", "variable"),
    ]
    assert parse_time_calls(PARSE_TIME_SOURCE)[0].code == 'V.get("target")'


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("airflow.models.Variable.get", "variable"),
        ("airflow.sdk.Variable.get", "variable"),
        ("Variable.set", "variable"),
        ("airflow.models.connection.Connection.get_connection_from_secrets", "connection"),
        ("airflow.sdk.Connection.get", "connection"),
        ("PostgresHook.get_connection", "connection"),
        ("airflow.providers.amazon.aws.hooks.s3.S3Hook", "hook"),
        ("airflow.settings.Session", "database"),
        ("airflow.utils.session.create_session", "database"),
        ("XCom.get_one", "database"),
        ("requests.post", "network"),
        ("httpx.get", "network"),
        ("urllib.request.urlopen", "network"),
        ("boto3.client", "network"),
        ("snowflake.connector.connect", "network"),
        ("os.environ.get", None),
        ("requests.Session", None),
        ("my_dict.get", None),
        ("datetime.datetime.now", None),
    ],
)
def test_classify_call(name, kind):
    assert classify_call(name) == kind


def test_dynamic_start_dates():
    source = textwrap.dedent(
        """
        import datetime as dt
        import pendulum
        from airflow.utils.dates import days_ago
        from airflow.utils import timezone

        YESTERDAY = dt.datetime.now() - dt.timedelta(days=1)
        FIXED = pendulum.datetime(2024, 1, 1)
        ARGS = {"owner": "me", "start_date": YESTERDAY}
        OK = {"start_date": FIXED}
        other = {}
        other["start_date"] = timezone.utcnow()

        DAG("a", start_date=days_ago(1))
        DAG("b", start_date=FIXED)
        DAG("c", start_date=pendulum.today("UTC").add(days=-1))
        """
    )
    found = [(f.line, f.call, f.code, f.detail) for f in dynamic_start_dates(source)]
    assert found == [
        (9, "dt.datetime.now", '"start_date": YESTERDAY', "dt.datetime.now() at line 7"),
        (12, "timezone.utcnow", 'other["start_date"] = timezone.utcnow()', "timezone.utcnow() at line 12"),
        (14, "days_ago", "start_date=days_ago(1)", "days_ago() at line 14"),
        (
            16,
            "pendulum.today",
            'start_date=pendulum.today("UTC").add(days=-1)',
            "pendulum.today() at line 16",
        ),
    ]


def test_schedule_interval_uses():
    source = 'DAG("a", schedule_interval="@daily")\nargs = {"schedule_interval": None}\nDAG("b", schedule="@daily")\n'
    assert [(f.line, f.code) for f in schedule_interval_uses(source)] == [
        (1, 'DAG("a", schedule_interval="@daily")'),
        (2, '"schedule_interval": None'),
    ]


# --- validators on real DAGs -----------------------------------------------------------------------

HELPER_MODULE = f"clock_helper_{uuid.uuid4().hex[:8]}"

DAG_FILES = {
    "good.py": """
        from datetime import datetime
        from airflow.decorators import dag, task
        from airflow.providers.standard.operators.empty import EmptyOperator

        @dag(default_args={"owner": "team", "retries": 3}, start_date=datetime(2024, 1, 1),
             schedule=None, catchup=False, tags=["sample", "transform"])
        def good():
            @task
            def python_task():
                return 1

            python_task() >> EmptyOperator(task_id="empty", retries=5)

        good()
        """,
    "sloppy.py": """
        from datetime import datetime
        from airflow.decorators import dag
        from airflow.providers.standard.operators.empty import EmptyOperator

        @dag(default_args={"retries": 1}, start_date=datetime(2024, 1, 1), schedule="@daily", catchup=True)
        def sloppy():
            EmptyOperator(task_id="first")
            EmptyOperator(task_id="second", retries=0, owner="someone")

        sloppy()
        """,
    "clock_from_helper.py": f"""
        from airflow.decorators import dag
        from airflow.providers.standard.operators.empty import EmptyOperator
        from {HELPER_MODULE} import START

        @dag(default_args={{"owner": "team", "retries": 3}}, start_date=START, schedule=None,
             catchup=False, tags=["sample"])
        def clock_from_helper():
            EmptyOperator(task_id="t")

        clock_from_helper()
        """,
    f"{HELPER_MODULE}.py": """
        from datetime import datetime, timezone
        START = datetime.now(timezone.utc).replace(microsecond=123456)
        """,
    "broken.py": """
        from airflow.decorators import dag
        raise RuntimeError("this DAG file is broken")
        """,
    "legacy_schedule.py": """
        # airflow dag: a file that still passes schedule_interval
        ARGS = {"owner": "team", "schedule_interval": "@daily"}
        """,
}


@pytest.fixture(scope="module")
def dag_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("validator_dags")
    for name, source in DAG_FILES.items():
        (folder / name).write_text(textwrap.dedent(source))
    return folder


@pytest.fixture(scope="module")
def bag(dag_folder: Path):
    return load_dag_bag(dag_folder)


def test_load_dag_bag_loads_only_the_folder(bag, dag_folder: Path):
    assert sorted(bag.dag_ids) == ["clock_from_helper", "good", "sloppy"]  # and no Airflow examples
    assert [Path(p).name for p in bag.import_errors] == ["broken.py"]
    assert {p.name for p in dag_file_paths(dag_folder)} == {
        "good.py",
        "sloppy.py",
        "clock_from_helper.py",
        "broken.py",
        "legacy_schedule.py",
    }  # the helper module mentions neither "airflow" nor "dag": not a DAG file
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_dag_bag(dag_folder / "missing")


def test_good_dag_passes_every_validator(bag, dag_folder: Path):
    good = bag.dags["good"]
    with warnings.catch_warnings():
        warnings.simplefilter("error", checks.DagCheckWarning)
        checks.check_import_errors(bag.import_errors, dag_folder / "good.py")
        checks.check_tags(good, approved_tags={"sample", "transform"})
        checks.check_catchup_false(good)
        checks.check_task_types(good, {"_PythonDecoratedOperator", "EmptyOperator"})
        checks.check_retries(good)
        checks.check_owner(good)
        checks.check_start_date_not_dynamic(good)
        checks.check_no_schedule_interval(dag_folder / "good.py")
        checks.check_no_parse_time_calls(dag_folder / "good.py")


def test_import_errors(bag, dag_folder: Path):
    with pytest.raises(
        checks.DagCheckError, match=r"(?s)broken.py failed to import:.*this DAG file is broken"
    ):
        checks.check_import_errors(bag.import_errors, dag_folder / "broken.py")
    with pytest.raises(checks.DagCheckError, match=r"broken\.py failed to import"):
        checks.check_import_errors(bag.import_errors)


def test_tags_and_catchup(bag):
    sloppy = bag.dags["sloppy"]
    with pytest.raises(checks.DagCheckError, match=r"^sloppy \(sloppy.py\) has no tags$"):
        checks.check_tags(sloppy)
    with pytest.raises(checks.DagCheckError, match=r"has tags outside the approved set: transform$"):
        checks.check_tags(bag.dags["good"], approved_tags={"sample"})
    checks.check_tags(bag.dags["good"])  # no approved set: any tag will do
    with pytest.raises(checks.DagCheckError, match=r"^sloppy \(sloppy.py\) must set catchup=False$"):
        checks.check_catchup_false(sloppy)


def test_task_types(bag):
    with pytest.raises(
        checks.DagCheckError,
        match=r"uses task types that are not allowed: python_task \(_PythonDecoratedOperator\)$",
    ):
        checks.check_task_types(bag.dags["good"], {"EmptyOperator", "DatacovesBashOperator"})


def test_retries_fail_below_the_minimum_and_warn_below_the_recommendation(bag):
    sloppy, good = bag.dags["sloppy"], bag.dags["good"]
    with pytest.raises(checks.DagCheckError, match=r"must set retries >= 1; tasks below: second \(0\)$"):
        checks.check_retries(sloppy)
    with pytest.warns(
        checks.DagCheckWarning, match=r"should set retries >= 3; tasks below: second \(0\); first \(1\)$"
    ):
        checks.check_retries(sloppy, minimum=0)
    with pytest.warns(
        checks.DagCheckWarning, match=r"should set retries >= 4; tasks below: python_task \(3\)$"
    ):
        checks.check_retries(good, recommended=4)  # the empty task's own retries=5 count


def test_owner(bag):
    with pytest.raises(checks.DagCheckError, match=r"must name an owner .*task\(s\) without one: first$"):
        checks.check_owner(bag.dags["sloppy"])


def test_start_date_from_the_clock_in_a_helper_module(bag):
    """Not in the DAG file's source, but its sub-second precision gives it away."""
    with pytest.raises(checks.DagCheckError, match=r"(?s)dynamic start_date.*has sub-second precision"):
        checks.check_start_date_not_dynamic(bag.dags["clock_from_helper"])


def test_schedule_interval_fails_on_airflow_3_and_warns_on_2(dag_folder: Path):
    expected = r"legacy_schedule.py uses schedule_interval \(line 3\), which Airflow 3 removed: use schedule="
    if airflow_major() >= 3:
        with pytest.raises(checks.DagCheckError, match=expected):
            checks.check_no_schedule_interval(dag_folder / "legacy_schedule.py")
    else:
        with pytest.warns(checks.DagCheckWarning, match=expected):
            checks.check_no_schedule_interval(dag_folder / "legacy_schedule.py")


def test_parse_time_calls_validator(tmp_path: Path):
    dag_file = tmp_path / "dag.py"
    dag_file.write_text("from airflow.models import Variable\nX = Variable.get('x')\n")
    with pytest.raises(
        checks.DagCheckError, match=r"(?s)dag.py makes these calls every time.*line 2: Variable.get\('x'\)"
    ):
        checks.check_no_parse_time_calls(dag_file)
    dag_file.write_text("syntax error (\n")
    checks.check_no_parse_time_calls(dag_file)  # the import check reports what does not parse


# --- settings --------------------------------------------------------------------------------------


def test_skip_checks_by_name_and_file_pattern():
    settings = DagCheckSettings(skip_checks=("owner:legacy/*.py", "start_date"))
    assert (
        settings.skip_reason("owner", "legacy/old.py")
        == "skipped by datacoves_skip_checks (owner:legacy/*.py)"
    )
    assert settings.skip_reason("owner", "new.py") is None
    assert settings.skip_reason("start_date", "new.py") == "skipped by datacoves_skip_checks (start_date)"
    with pytest.raises(ValueError, match="unknown check"):
        DagCheckSettings(skip_checks=("owners",))
