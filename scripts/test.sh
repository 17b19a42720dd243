#!/usr/bin/env bash
# The whole test suite: lint and type checks, then every test on Airflow 3.x and on Airflow 2.11.
# Fails if any check or test fails, or if a line ran no test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh af3 af2 dbt
export PATH="$PWD/.venvs/af3/bin:$PATH"
echo "== ruff"; .venvs/af3/bin/ruff check datacoves_airflow_provider operators tests bench example_dags
echo "== mypy"; .venvs/af3/bin/mypy
status=0
for line in af3 af2; do
  echo "== pytest on $(.venvs/$line/bin/python -c 'import airflow; print("Airflow", airflow.__version__)')"
  # exit code 5 (no test collected) is a failure here, like any other non-zero code
  .venvs/$line/bin/python -m pytest -n 2 --dist loadscope -p no:cacheprovider "$@" || status=$?
  [ "$status" -eq 0 ] || { echo "pytest failed on $line (exit $status)"; exit "$status"; }
done
echo "== all checks passed on both Airflow lines"
