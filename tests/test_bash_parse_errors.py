"""Bad arguments fail when the DAG is parsed, with a message that names the parameter and the fix."""

from __future__ import annotations

import warnings

import pytest
from harness.one_task_dags import decorated_dag, operator_dag
from pendulum import datetime

from datacoves_airflow_provider.operators.bash import DatacovesBashOperator
from datacoves_airflow_provider.staging.repository import StagingPolicy


def build(**kwargs):
    return operator_dag(DatacovesBashOperator, task_id="t", **kwargs)


def build_decorated(**kwargs):
    return decorated_dag("datacoves_bash", "echo hi", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"bash_command": None}, TypeError, "bash command must be a string"),
        ({"bash_command": 42}, TypeError, "got int 42"),
        ({"bash_command": "   "}, ValueError, "bash command is blank"),
        ({"bash_command": "echo", "env": {"A": None}}, ValueError, "env['A'] is None"),
        ({"bash_command": "echo", "env": {"THREADS": 4}}, TypeError, "write '4'"),
        ({"bash_command": "echo", "env": ["A=1"]}, TypeError, "env must be a dict"),
        ({"bash_command": "echo", "env": {"A=B": "1"}}, ValueError, "invalid variable name"),
        ({"bash_command": "echo", "cwd": "/opt/airflow/dags/repo/transform"}, ValueError, "must be relative"),
        ({"bash_command": "echo", "cwd": "../elsewhere"}, ValueError, "climbs out of the repository"),
        ({"bash_command": "echo", "activate_venv": "no"}, TypeError, "activate_venv must be True or False"),
        ({"bash_command": "echo", "virtualenv": ""}, ValueError, "virtualenv must be a non-empty path"),
        ({"bash_command": "echo", "staging": {"copy_git": True}}, ValueError, "unknown keys ['copy_git']"),
        ({"bash_command": "echo", "staging": "full"}, TypeError, "staging must be a StagingPolicy"),
        ({"bash_command": "echo", "staging": {"exclude": ["/abs"]}}, ValueError, "must stay inside"),
        ({"bash_command": "echo", "staging": {"exclude": "data"}}, ValueError, "must be a list"),
    ],
)
def test_bad_arguments_fail_at_parse_time(kwargs, error, fragment):
    with pytest.raises(error) as info:
        build(**kwargs)
    assert fragment in str(info.value)
    assert "'t'" in str(info.value) or "staging" in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"env": {"A": None}}, "env['A'] is None"),
        ({"cwd": "/abs"}, "must be relative"),
    ],
)
def test_decorator_arguments_fail_at_parse_time(kwargs, fragment):
    with pytest.raises((TypeError, ValueError), match=fragment.replace("[", r"\[").replace("]", r"\]")):
        build_decorated(**kwargs)


def test_empty_env_value_warns():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        build(bash_command="echo", env={"EMPTY": ""})
    assert any("env['EMPTY'] is an empty string" in str(w.message) for w in caught)


def test_templates_and_xcomargs_are_checked_at_run_time_not_parse_time():
    build(bash_command="echo {{ ds }}", env={"A": "{{ var.value.x }}"}, cwd="{{ var.value.folder }}")
    build(bash_command="echo", env="{{ var.json.env }}")


def test_valid_arguments_pass_through():
    from datetime import timedelta

    from airflow.models.dag import DAG
    from airflow.providers.common.compat.sdk import Asset

    with DAG("ok", schedule=None, start_date=datetime(2024, 1, 1)):
        op = DatacovesBashOperator(
            task_id="t",
            bash_command="echo",
            cwd="transform",
            retries=2,
            pool="default_pool",
            skip_on_exit_code=[99, 100],
            execution_timeout=timedelta(minutes=5),
            executor_config={"pod_override": None},
            staging={"exclude": ["data/raw"]},
            outlets=[Asset("s3://bucket/orders.csv")],
        )
    assert op.retries == 2
    assert op.skip_on_exit_code == [99, 100]
    assert op.executor_config == {"pod_override": None}
    assert [a.uri for a in op.outlets] == ["s3://bucket/orders.csv"]
    assert op.staging == StagingPolicy(exclude=("data/raw",))
    assert set(op.template_fields) >= {"bash_command", "env", "cwd", "virtualenv"}


@pytest.mark.slow
def test_decorated_function_returning_non_string_fails_clearly(airflow_home, sample_repo, tmp_path):
    from harness.airflow_env import run_dag

    (tmp_path / "bad_return.py").write_text(
        "from airflow.decorators import dag, task\nfrom pendulum import datetime\n"
        "@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)\n"
        "def bad_return():\n"
        "    @task.datacoves_bash\n"
        "    def t():\n"
        "        return ['dbt', 'run']\n"
        "    t()\n"
        "bad_return()\n"
    )
    result = run_dag(airflow_home, tmp_path, "bad_return", DATACOVES__REPO_PATH=str(sample_repo))
    assert result.states == {"t": "failed"}
    assert "must return the command to run as a non-empty string; it returned list" in result.output


#: A value that stands for a secret: no message may quote it.
SECRET = "hunter2-nul"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        (
            {"bash_command": "echo", "env": {"API_KEY": f"{SECRET}\x00tail"}},
            "env['API_KEY'] contains a NUL byte",
        ),
        ({"bash_command": "echo", "env": {"A\x00B": "1"}}, "env has an invalid variable name 'A\\x00B'"),
        ({"bash_command": "echo", "env": {"MY VAR": "1"}}, "env has an invalid variable name 'MY VAR'"),
        ({"bash_command": "echo", "env": {"A\nB": "1"}}, "env has an invalid variable name 'A\\nB'"),
        ({"bash_command": "echo", "env": {"": "1"}}, "env has an invalid variable name ''"),
        ({"bash_command": "echo", "cwd": "transform\x00"}, "cwd contains a NUL byte"),
        ({"bash_command": f"echo {SECRET}\x00"}, "bash_command contains a NUL byte"),
        ({"bash_command": "echo", "virtualenv": "/opt/venv\x00"}, "virtualenv contains a NUL byte"),
    ],
)
def test_nul_bytes_and_bad_env_names_fail_at_parse_time(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        build(**kwargs)
    assert fragment in str(info.value)
    assert "Task 't'" in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"env": {"API_KEY": f"{SECRET}\x00"}}, "env['API_KEY'] contains a NUL byte"),
        ({"env": {"MY VAR": "1"}}, "env has an invalid variable name 'MY VAR'"),
        ({"cwd": "a\x00b"}, "cwd contains a NUL byte"),
    ],
)
def test_decorator_refuses_nul_bytes_at_parse_time(kwargs, fragment):
    with pytest.raises(ValueError) as info:
        build_decorated(**kwargs)
    assert fragment in str(info.value) and SECRET not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"bash_command": "echo {{ value }}"}, "bash_command contains a NUL byte"),
        ({"bash_command": "echo", "env": {"API_KEY": "{{ value }}"}}, "env['API_KEY'] contains a NUL byte"),
        ({"bash_command": "echo", "cwd": "{{ value }}"}, "cwd contains a NUL byte"),
    ],
)
def test_templated_nul_bytes_fail_in_execute_with_the_same_message(kwargs, fragment, monkeypatch, tmp_path):
    monkeypatch.setenv("DATACOVES__REPO_PATH", str(tmp_path / "no_repo"))  # never reached
    op = DatacovesBashOperator(task_id="t", **kwargs)  # parses: the value is not known yet
    op.render_template_fields({"value": f"{SECRET}\x00"})  # type: ignore[arg-type]
    with pytest.raises(ValueError) as info:
        op.execute({})  # type: ignore[arg-type]
    assert fragment in str(info.value) and "Task 't'" in str(info.value)
    assert SECRET not in str(info.value)


@pytest.mark.slow
def test_templated_nul_byte_fails_the_task_before_the_command_runs(airflow_home, sample_repo, tmp_path):
    from harness.airflow_env import run_dag

    marker = tmp_path / "ran"
    (tmp_path / "nul_env.py").write_text(
        "from airflow.decorators import dag\nfrom pendulum import datetime\n"
        "from datacoves_airflow_provider.operators.bash import DatacovesBashOperator\n"
        "@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False)\n"
        "def nul_env():\n"
        f"    DatacovesBashOperator(task_id='t', bash_command='touch {marker}', retries=0,\n"
        "        env={'API_KEY': '{{ \"hunter2-nul\\\\x00\" }}'})\n"
        "nul_env()\n"
    )
    result = run_dag(airflow_home, tmp_path, "nul_env", DATACOVES__REPO_PATH=str(sample_repo))
    assert result.states == {"t": "failed"}, result.output[-3000:]
    assert "Task 't': env['API_KEY'] contains a NUL byte" in result.output
    assert SECRET not in result.output
    assert not marker.exists()
