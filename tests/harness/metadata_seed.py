"""Realistic rows for an Airflow metadata database on PostgreSQL, generated in the server.

Test-only (not in the wheel): used by the data sync's tests and ``bench/db_sync.py`` to top a real, migrated metadata database
up to a production-like size (a million task instances take seconds): one DAG with many runs, task
instances spread over 30 days in every state, jobs and log rows, with the binary and JSON columns
filled the way Airflow fills them. Works on the 2.x schema and the 3.x one (``dag_version``,
UUID task-instance ids).
"""

from __future__ import annotations

from typing import Any

__all__ = ["seed_metadata_rows"]

_TASKS_PER_RUN = 50
#: ``pickle.dumps({})``: what Airflow stores in ``executor_config`` for most tasks.
_EMPTY_PICKLE = r"'\x80057d942e'::bytea"


def _has_table(cursor: Any, table: str) -> bool:
    cursor.execute("SELECT to_regclass(%s) IS NOT NULL", (f"public.{table}",))
    return bool(cursor.fetchone()[0])


def seed_metadata_rows(
    connection: Any, task_instances: int, dag_id: str = "seeded_dag", span_days: float = 30.0
) -> None:
    """Insert ``task_instances`` task instances (with their DAG, runs, jobs and log rows) and commit.

    :param connection: a psycopg2 or psycopg connection to a migrated metadata database.
    :param task_instances: how many task-instance rows to add.
    :param dag_id: the DAG they belong to (must not exist yet).
    :param span_days: the rows are spread over this many days up to now (like a month of runs;
        near 0 for rows that just happened).
    """
    runs = max(1, -(-task_instances // _TASKS_PER_RUN))
    cursor = connection.cursor()
    # the rows are consistent by construction: skip the per-row foreign-key triggers (10x faster)
    cursor.execute("SET LOCAL session_replication_role = replica")
    airflow3 = _has_table(cursor, "dag_version")
    params = {
        "dag_id": dag_id,
        "runs": runs,
        "n": task_instances,
        "per_run": _TASKS_PER_RUN,
        "span": f"{span_days * 86400:.3f} seconds",
    }
    if airflow3:
        cursor.execute(
            "INSERT INTO dag_bundle(name, active) VALUES ('seed_bundle', true) ON CONFLICT DO NOTHING"
        )
        cursor.execute(
            "INSERT INTO dag(dag_id, bundle_name, is_paused, is_stale, max_active_tasks, "
            "max_consecutive_failed_dag_runs, has_task_concurrency_limits, timetable_type, "
            "partition_mapper_info, last_parsed_time, fileloc, owners) VALUES (%(dag_id)s, 'seed_bundle', "
            "false, false, 16, 0, false, 'CronTriggerTimetable', '{}'::json, now(), '/dags/seed.py', 'data')",
            params,
        )
        cursor.execute(
            "INSERT INTO dag_version(id, version_number, dag_id, bundle_name, created_at, last_updated) "
            "VALUES (gen_random_uuid(), 1, %(dag_id)s, 'seed_bundle', now(), now())",
            params,
        )
        cursor.execute(
            "INSERT INTO dag_run(dag_id, run_id, run_type, run_after, logical_date, state, start_date, "
            "end_date, conf, created_at, updated_at, created_dag_version_id, log_template_id, "
            "data_interval_start, data_interval_end, queued_at) "
            "SELECT %(dag_id)s, 'scheduled__seed_' || r, 'scheduled', t, t, "
            "CASE WHEN r %% 20 = 0 THEN 'failed' ELSE 'success' END, t, t + interval '9 minutes', "
            "'{\"full_refresh\": false}'::jsonb, t, t + interval '9 minutes', "
            "(SELECT id FROM dag_version WHERE dag_id = %(dag_id)s), (SELECT max(id) FROM log_template), "
            "t - interval '1 hour', t, t - interval '1 second' "
            "FROM (SELECT r, now() - ((%(runs)s - r) * %(span)s::interval) / %(runs)s AS t "
            "FROM generate_series(1, %(runs)s) r) s",
            params,
        )
        identity = "gen_random_uuid(), "
        identity_column = "id, "
        version = ", dag_version_id, context_carrier"
        version_value = ", (SELECT id FROM dag_version WHERE dag_id = %(dag_id)s), '{}'::jsonb"
    else:
        cursor.execute(
            "INSERT INTO dag(dag_id, is_paused, is_active, max_active_tasks, "
            "max_consecutive_failed_dag_runs, has_task_concurrency_limits, fileloc, last_parsed_time, "
            "owners) "
            "VALUES (%(dag_id)s, false, true, 16, 0, false, '/dags/seed.py', now(), 'data')",
            params,
        )
        cursor.execute(
            "INSERT INTO dag_run(dag_id, run_id, run_type, execution_date, state, start_date, end_date, "
            "external_trigger, data_interval_start, data_interval_end, updated_at, log_template_id, "
            "queued_at) "
            "SELECT %(dag_id)s, 'scheduled__seed_' || r, 'scheduled', t, "
            "CASE WHEN r %% 20 = 0 THEN 'failed' ELSE 'success' END, t, t + interval '9 minutes', false, "
            "t - interval '1 hour', t, t + interval '9 minutes', (SELECT max(id) FROM log_template), "
            "t - interval '1 second' "
            "FROM (SELECT r, now() - ((%(runs)s - r) * %(span)s::interval) / %(runs)s AS t "
            "FROM generate_series(1, %(runs)s) r) s",
            params,
        )
        identity = identity_column = version = version_value = ""
    cursor.execute(
        f"INSERT INTO task_instance({identity_column}dag_id, task_id, run_id, map_index, try_number, "
        "max_tries, pool, pool_slots, queue, priority_weight, operator, state, start_date, end_date, "
        f"duration, hostname, unixname, pid, executor_config, updated_at, queued_dttm{version}) "
        f"SELECT {identity}%(dag_id)s, 'model_' || (g %% %(per_run)s) || '_run', "
        "'scheduled__seed_' || (1 + (g - 1) / %(per_run)s), -1, 1 + (g %% 7 = 0)::int, 2, 'default_pool', 1, "
        "'default', 1 + g %% 5, '_DatacovesDbtDecoratedOperator', "
        "(ARRAY['success','success','success','success','success','success','failed','skipped',"
        "'upstream_failed','success'])[1 + g %% 10], t, t + d * interval '1 second', d, "
        "'worker-' || (g %% 4) || '.airflow.svc.cluster.local', 'airflow', 1000 + g %% 30000, "
        f"{_EMPTY_PICKLE}, least(t + d * interval '1 second', now()), "
        f"t - interval '2 seconds'{version_value} "
        "FROM (SELECT g, now() - ((%(n)s - g) * %(span)s::interval) / %(n)s AS t, "
        "round((5 + random() * 600)::numeric, 3)::float AS d FROM generate_series(1, %(n)s) g) s",
        params,
    )
    cursor.execute(
        "INSERT INTO job(dag_id, state, job_type, start_date, end_date, latest_heartbeat, executor_class, "
        "hostname, unixname) SELECT %(dag_id)s, 'success', 'LocalTaskJob', t, "
        "least(t + interval '5 minutes', now()), least(t + interval '5 minutes', now()), 'CeleryExecutor', "
        "'worker-' || (g %% 4), 'airflow' "
        "FROM (SELECT g, now() - ((%(runs)s - g) * %(span)s::interval) / %(runs)s AS t "
        "FROM generate_series(1, %(runs)s) g) s",
        params,
    )
    cursor.execute(
        "INSERT INTO log(dttm, dag_id, task_id, event, owner, extra) SELECT "
        "now() - ((%(runs)s - g) * %(span)s::interval) / %(runs)s, %(dag_id)s, "
        "'model_' || (g %% 50) || '_run', 'running', 'data', "
        "'{\"host_name\": \"worker-' || (g %% 4) || '\"}' FROM generate_series(1, %(runs)s) g",
        params,
    )
    connection.commit()
    cursor.close()
