"""The dbt command a retry should run, from the previous try's run_results.json.

dbt records a failing *model* as ``error`` and a failing *test* as ``fail``, and skips what lies
downstream of either. The docs' retry command, ``dbt build -s result:error+ --state logs``,
reruns failed models and everything below them, but **not** failed tests: after a test failure it
selects nothing and the retry "succeeds" without checking anything. :func:`dbt_retry_command`
covers both::

    @task.datacoves_dbt(connection_id="main", dbt_api_enabled=True, download_run_results=True, retries=1)
    def dbt_build(expected_files: list = []):
        if expected_files:
            return dbt_retry_command("dbt build")
        return "dbt build -s tag:daily"

    dbt_build(expected_files=["run_results.json"])
"""

from __future__ import annotations

import shlex

from datacoves_airflow_provider.dbt.artifacts import STATE_FOLDER
from datacoves_airflow_provider.exceptions import InvalidArgumentError

__all__ = ["dbt_retry_command", "retry_selectors"]


def retry_selectors(*, rerun_failed_tests: bool = True) -> list[str]:
    """The ``--select`` methods that pick what the previous try did not finish.

    - ``result:error+``: models (and other nodes) that errored, and everything downstream;
    - ``1+result:fail``: tests that failed, with the models they test (rebuilt, in case the data
      behind them was fixed);
    - ``result:skipped+``: what dbt skipped because of those failures, and everything downstream.

    :param rerun_failed_tests: include the last two (default). False gives the docs' selector,
        which reruns failed models only.
    """
    selectors = ["result:error+"]
    if rerun_failed_tests:
        selectors += ["1+result:fail", "result:skipped+"]
    return selectors


def dbt_retry_command(
    command: str = "dbt build", *, rerun_failed_tests: bool = True, state: str = STATE_FOLDER
) -> str:
    """``command`` restricted to what failed last time: e.g. ``dbt build -s result:error+
    1+result:fail result:skipped+ --state logs``.

    :param command: the dbt command to restrict, without ``-s``/``--select`` (e.g. ``dbt build``,
        ``dbt build --full-refresh``).
    :param rerun_failed_tests: also rerun failed tests, the models they test and what was skipped
        (default True); False reruns failed models only (``result:error+``).
    :param state: the folder holding the previous run_results.json (``logs``, where
        ``download_run_results=True`` puts it).
    """
    if not isinstance(command, str) or not command.strip():
        raise InvalidArgumentError(
            f"dbt_retry_command: command must be a dbt command such as 'dbt build', got {command!r}"
        )
    if not isinstance(state, str) or not state.strip():
        raise InvalidArgumentError(
            f"dbt_retry_command({command!r}): state must name the folder holding the previous "
            f"run_results.json (default {STATE_FOLDER!r}), got {state!r}"
        )
    try:
        words = shlex.split(command)
    except ValueError as exc:  # "No closing quotation", "No escaped character"
        raise InvalidArgumentError(
            f"dbt_retry_command({command!r}): the command cannot be split into words like a shell "
            f"does ({exc}); close the quote or escape it"
        ) from None
    if any(w in ("-s", "--select", "-m", "--models") or w.startswith("--select=") for w in words):
        raise InvalidArgumentError(
            f"dbt_retry_command({command!r}): leave out the selection; the retry selects from the "
            "previous run's results. Use dbt_retry_command('dbt build') instead."
        )
    selectors = " ".join(retry_selectors(rerun_failed_tests=rerun_failed_tests))
    return f"{command} -s {selectors} --state {shlex.quote(state)}"
