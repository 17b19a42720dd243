#!/usr/bin/env bash
# The main job end to end on embedded defaults (no cloud account): a real Airflow (3.x) runs two of
# the docs' example DAGs against a private copy of the demo repository:
#   datacoves_sample_dag  @task.datacoves_bash runs a Python script from the repository
#   my_sample_dag         @task.datacoves_dbt runs `dbt build` (dbt deps first) with a temporary
#                         profile built from the Airflow connection `main`, here a DuckDB file
#   airflow_db_sync_local @task.datacoves_airflow_db_sync copies every table of Airflow's own
#                         database (these runs included) into another DuckDB file
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh af3 dbt
export AIRFLOW_HOME="$PWD/.demo/airflow"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER="$PWD/example_dags"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$AIRFLOW_HOME/airflow.db"
export AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV="$PWD/.venvs/dbt"   # on Datacoves: /opt/datacoves/virtualenvs/main
export DATACOVES__REPO_PATH="$PWD/example_dags/demo_repo"
export DATACOVES__DBT_HOME="$DATACOVES__REPO_PATH/transform"
export AIRFLOW_CONN_MAIN="{\"conn_type\": \"duckdb\", \"host\": \"$PWD/.demo/warehouse.duckdb\"}"
export AIRFLOW_CONN_AIRFLOW_WAREHOUSE="{\"conn_type\": \"duckdb\", \"host\": \"$PWD/.demo/airflow_db.duckdb\"}"
export DO_NOT_TRACK=1 PYTHONWARNINGS=ignore
mkdir -p "$AIRFLOW_HOME"
rm -f .demo/warehouse.duckdb .demo/airflow_db.duckdb
.venvs/af3/bin/airflow db migrate >/dev/null

run_state() {
  .venvs/af3/bin/python - "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(os.environ["AIRFLOW_HOME"] + "/airflow.db")
print(db.execute("select state from dag_run where dag_id=? order by id desc limit 1", (sys.argv[1],)).fetchone()[0])
PY
}

echo "== airflow dags test datacoves_sample_dag (repo: $DATACOVES__REPO_PATH)"
.venvs/af3/bin/airflow dags test datacoves_sample_dag 2024-01-01 2>&1 \
  | grep -E "Staged |Running command|[A-Za-z]+,[0-9]+,|DagRun Finished" || true
bash_state=$(run_state datacoves_sample_dag)

echo "== airflow dags test my_sample_dag (dbt on DuckDB, connection 'main')"
.venvs/af3/bin/airflow dags test my_sample_dag 2024-01-01 2>&1 \
  | grep -E "Running dbt deps|dbt profile|OK created|PASS |Completed successfully|dbt build finished|Slowest|ERROR|DagRun Finished" || true
dbt_state=$(run_state my_sample_dag)
.venvs/dbt/bin/python -c "
import duckdb
rows = duckdb.connect('.demo/warehouse.duckdb', read_only=True).execute(
    'select customer_id, credit_limit from personal_loans order by customer_id').fetchall()
print('personal_loans in .demo/warehouse.duckdb:', rows)"

echo "== airflow dags test airflow_db_sync_local (Airflow's database -> .demo/airflow_db.duckdb)"
.venvs/af3/bin/airflow dags test airflow_db_sync_local 2024-01-01 2>&1 \
  | sed -n '/Data sync done/,/rows copied in/p' | sed -E 's/ +\[[A-Za-z0-9_.]+\] loc=.*$//; s/^.*\[info *\] //' || true
sync_state=$(run_state airflow_db_sync_local)
.venvs/af3/bin/python -c "
import duckdb
db = duckdb.connect('.demo/airflow_db.duckdb', read_only=True)
print('task_instance in .demo/airflow_db.duckdb:', db.execute(
    'select dag_id, task_id, state from airflow_local.task_instance order by dag_id, task_id').fetchall())"

echo "== DAG run states: datacoves_sample_dag=$bash_state my_sample_dag=$dbt_state airflow_db_sync_local=$sync_state"
[ "$bash_state" = "success" ] && [ "$dbt_state" = "success" ] && [ "$sync_state" = "success" ]
