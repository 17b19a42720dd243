#!/usr/bin/env bash
# The main job end to end on embedded defaults: a real Airflow (3.x) runs the docs' example DAG,
# whose @task.datacoves_bash task runs a script from a private copy of the demo repository.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh af3
export AIRFLOW_HOME="$PWD/.demo/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/example_dags"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export DATACOVES__REPO_PATH="$PWD/example_dags/demo_repo"
export PYTHONWARNINGS=ignore
mkdir -p "$AIRFLOW_HOME"
.venvs/af3/bin/airflow db migrate >/dev/null
echo "== airflow dags test datacoves_sample_dag (repo: $DATACOVES__REPO_PATH)"
.venvs/af3/bin/airflow dags test datacoves_sample_dag 2024-01-01 2>&1 \
  | grep -E "Staged |Running command|INFO - [A-Z][a-z]+,|Name,Age|[A-Za-z]+,[0-9]+,|exited with|Marking task|state=|DagRun Finished" || true
state=$(.venvs/af3/bin/python - <<'PY'
import os, sqlite3
db = sqlite3.connect(os.environ["AIRFLOW_HOME"] + "/airflow.db")
print(db.execute("select state from dag_run where dag_id='datacoves_sample_dag' order by id desc limit 1").fetchone()[0])
PY
)
echo "== DAG run state: $state"
[ "$state" = "success" ]
