"""The one DAG scripts/install_check.sh runs in every fresh install: README's import form and
@task.datacoves_bash (registered through the provider entry point) running in the repository copy."""

from __future__ import annotations

from airflow.decorators import dag, task
from pendulum import datetime

# the copy has the repository's committed file, is not the repository itself, and the task sees
# DATACOVES__REPO_PATH naming its own copy (docs/bash.md, "What happens when the task runs")
COMMAND = (
    'test -f install_check_marker.txt && test "$PWD" != "$INSTALL_CHECK_SOURCE" '
    '&& test "$(cd "$DATACOVES__REPO_PATH" && pwd -P)" = "$(pwd -P)" '
    '&& echo "$(cat install_check_marker.txt) ran in a copy" > "$INSTALL_CHECK_EVIDENCE" '
    "&& echo install-check-ok"
)


@dag(schedule=None, start_date=datetime(2024, 1, 1), catchup=False, tags=["install-check"])
def datacoves_install_check():
    @task.datacoves_bash(append_env=True, env={"INSTALL_CHECK": "1"})
    def in_the_copy() -> str:
        return COMMAND

    in_the_copy()


datacoves_install_check()
