"""Links into the Airflow UI: the page of a task try's log, or of a DAG run.

The two UIs route differently. Airflow 2.x (Flask) shows a task's log in the grid view
(``/dags/<dag_id>/grid?dag_run_id=...&task_id=...&tab=logs``) under ``[webserver] base_url``;
Airflow 3.x (React) has a page per task instance whose first tab is its log
(``/dags/<dag_id>/runs/<run_id>/tasks/<task_id>?try_number=N``) under ``[api] base_url``. Both
shapes mirror what the running Airflow's own ``TaskInstance.log_url`` builds.
"""

from __future__ import annotations

from urllib.parse import quote, urlencode

from datacoves_airflow_provider import compat

__all__ = ["airflow_ui_base_url", "dag_run_url", "task_log_url"]


def airflow_ui_base_url() -> str:
    """The UI's base URL from Airflow's configuration, without a trailing slash.

    ``[api] base_url`` on Airflow 3 (falling back to ``http://localhost:8080`` as Airflow does),
    ``[webserver] base_url`` on Airflow 2.
    """
    if compat.AIRFLOW_V_3_0_PLUS:
        base = compat.conf.get("api", "base_url", fallback=None) or "http://localhost:8080/"
    else:
        base = compat.conf.get("webserver", "base_url", fallback=None) or "http://localhost:8080/"
    return str(base).rstrip("/")


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def task_log_url(
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int | None = None,
    try_number: int | None = None,
    base_url: str | None = None,
) -> str:
    """The UI page showing the log of one task try.

    :param dag_id: the DAG.
    :param run_id: the DAG run.
    :param task_id: the task.
    :param map_index: the mapped task's index (``-1`` or None when not mapped).
    :param try_number: the try whose log to open (Airflow 3 only; 2.x opens the latest try).
    :param base_url: the UI's base URL; default: from Airflow's configuration.
    """
    base = (base_url or airflow_ui_base_url()).rstrip("/")
    mapped = map_index is not None and map_index >= 0
    if compat.AIRFLOW_V_3_0_PLUS:
        url = f"{base}/dags/{_seg(dag_id)}/runs/{_seg(run_id)}/tasks/{_seg(task_id)}"
        if mapped:
            url += f"/mapped/{map_index}"
        if try_number is not None and try_number > 0:
            url += f"?try_number={try_number}"
        return url
    query: dict[str, str] = {"dag_run_id": run_id, "task_id": task_id}
    if mapped:
        query["map_index"] = str(map_index)
    query["tab"] = "logs"
    return f"{base}/dags/{_seg(dag_id)}/grid?{urlencode(query)}"


def dag_run_url(*, dag_id: str, run_id: str | None = None, base_url: str | None = None) -> str:
    """The UI page of a DAG run (or of the DAG, without ``run_id``).

    :param dag_id: the DAG.
    :param run_id: the DAG run.
    :param base_url: the UI's base URL; default: from Airflow's configuration.
    """
    base = (base_url or airflow_ui_base_url()).rstrip("/")
    if compat.AIRFLOW_V_3_0_PLUS:
        return f"{base}/dags/{_seg(dag_id)}" + (f"/runs/{_seg(run_id)}" if run_id else "")
    url = f"{base}/dags/{_seg(dag_id)}/grid"
    return url + (f"?{urlencode({'dag_run_id': run_id})}" if run_id else "")
