"""Bad dbt-task arguments fail when the DAG is parsed, naming the parameter and the fix."""

from __future__ import annotations

import pytest
from harness.one_task_dags import decorated_dag, operator_dag

from operators.datacoves.dbt import DatacovesDbtOperator


def build(**kwargs):
    return operator_dag(
        DatacovesDbtOperator, task_id="t", bash_command=kwargs.pop("bash_command", "dbt build"), **kwargs
    )


def build_decorated(**kwargs):
    return decorated_dag("datacoves_dbt", "dbt build", **kwargs)


BAD = [
    ({"project_dir": "/opt/airflow/dags/repo/transform"}, ValueError, "project_dir='/opt/airflow/dags/repo"),
    ({"project_dir": "../other_repo"}, ValueError, "climbs out of the repository"),
    ({"project_dir": 3}, TypeError, "project_dir must be a string path"),
    ({"cwd": "transform"}, TypeError, "pass project_dir='transform' instead of cwd"),
    ({"connection_id": ""}, TypeError, "connection_id must be a non-empty string"),
    ({"target": 1}, TypeError, "target must be a non-empty string"),
    ({"run_dbt_deps": "yes"}, TypeError, "run_dbt_deps must be True or False"),
    ({"connection_id": "main", "overrides": ["warehouse", "wh"]}, TypeError, "overrides must be a dict"),
    (
        {"connection_id": "main", "overrides": {"warehouse": None}},
        ValueError,
        "overrides['warehouse'] is None",
    ),
    ({"connection_id": "main", "overrides": {"warehouse": ["a", "b"]}}, TypeError, "must be a single value"),
    ({"connection_id": "main", "overrides": {"role": {1, 2}}}, TypeError, "overrides['role'] is a set"),
    ({"connection_id": "main", "overrides": {"threads": 0}}, ValueError, "positive whole number"),
    ({"connection_id": "main", "overrides": {"threads": True}}, ValueError, "positive whole number"),
    ({"connection_id": "main", "overrides": {"type": "postgres"}}, ValueError, "cannot change the adapter"),
    ({"connection_id": "main", "overrides": {1: "x"}}, TypeError, "invalid field name 1"),
    ({"overrides": {"warehouse": "wh"}}, ValueError, "pass connection_id too"),
    ({"env": {"DATACOVES__DBT_PROFILE": None}}, ValueError, "env['DATACOVES__DBT_PROFILE'] is None"),
]


@pytest.mark.parametrize(("kwargs", "error", "fragment"), BAD)
def test_bad_arguments_fail_at_parse_time(kwargs, error, fragment):
    with pytest.raises(error) as info:
        build(**kwargs)
    assert fragment in str(info.value)
    assert "Task 't'" in str(info.value)


@pytest.mark.parametrize(("kwargs", "error", "fragment"), BAD[:4])
def test_decorator_checks_the_same_arguments(kwargs, error, fragment):
    with pytest.raises(error) as info:
        build_decorated(**kwargs)
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"env": {"DBT_PASSWORD": "hunter2-nul\x00"}}, "env['DBT_PASSWORD'] contains a NUL byte"),
        ({"env": {"DBT TARGET": "prd"}}, "env has an invalid variable name 'DBT TARGET'"),
        ({"project_dir": "transform\x00"}, "project_dir contains a NUL byte"),
    ],
)
def test_nul_bytes_and_bad_env_names_fail_at_parse_time(kwargs, fragment):
    for builder in (build, build_decorated):
        with pytest.raises(ValueError) as info:
            builder(**dict(kwargs))
        assert fragment in str(info.value) and "Task 't'" in str(info.value)
        assert "hunter2" not in str(info.value)
    with pytest.raises(ValueError, match="bash_command contains a NUL byte"):
        build(bash_command="dbt build -s hunter2-nul\x00")


def test_templated_project_dir_with_nul_fails_before_dbt_runs(monkeypatch, sample_repo):
    monkeypatch.setenv("DATACOVES__REPO_PATH", str(sample_repo))
    op = DatacovesDbtOperator(task_id="t", bash_command="dbt ls", project_dir="{{ value }}")
    op.render_template_fields({"value": "transform\x00"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Task 't': project_dir contains a NUL byte"):
        op.execute({})  # type: ignore[arg-type]


def test_blank_command_fails_at_parse_time():
    with pytest.raises(ValueError, match="bash command is blank"):
        build(bash_command=" ")


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {"project_dir": "transform", "connection_id": "main", "target": "prd", "run_dbt_deps": True},
        {"connection_id": "main", "overrides": {"warehouse": "wh", "threads": 8, "query_tag": "airflow"}},
        {"connection_id": "{{ var.value.dbt_conn }}", "overrides": {"schema": "{{ params.schema }}"}},
        {"connection_id": "main", "overrides": {"threads": "{{ var.value.threads }}"}},
        {
            "connection_id": "main",
            "overrides": {"settings": {"memory_limit": "1GB"}, "extensions": ["httpfs"]},
        },
        {"connection_id": "main", "overrides": "{{ var.json.dbt_overrides }}"},
    ],
)
def test_good_arguments_parse(kwargs):
    build(**kwargs)
    build_decorated(**kwargs)


def test_templated_fields():
    fields = set(DatacovesDbtOperator.template_fields)
    assert {"bash_command", "env", "cwd", "project_dir", "connection_id", "target", "overrides"} <= fields


@pytest.mark.parametrize(
    ("rendered", "expected"),
    [
        ('{"schema": "a", "threads": 2}', {"schema": "a", "threads": 2}),  # JSON text
        ("{'schema': 'a', 'threads': 2}", {"schema": "a", "threads": 2}),  # a dict's repr (var.json)
        ("", None),
    ],
)
def test_overrides_rendered_to_text_are_read_back(rendered, expected):
    op = DatacovesDbtOperator(
        task_id="t", bash_command="dbt build", connection_id="main", overrides="{{ x }}"
    )
    op.overrides = rendered
    assert op.rendered_overrides() == expected


def test_overrides_rendered_to_junk_is_a_clear_error():
    op = DatacovesDbtOperator(
        task_id="t", bash_command="dbt build", connection_id="main", overrides="{{ x }}"
    )
    op.overrides = "warehouse=big"
    with pytest.raises(Exception, match="that is neither a JSON object nor a Python dict") as raised:
        op.rendered_overrides()
    assert "warehouse=big" not in str(raised.value)  # the text may hold a secret: never quoted
