#!/usr/bin/env bash
# The whole test suite: lint and type checks, then every test on Airflow 3.x and on Airflow 2.11, then
# tests/platform_image on the Datacoves platform's image (Airflow 2.10.5 and the providers it pins:
# requirements/airflow210.lock; about a minute). Fails if any check or test fails, or if a line ran no test.
#
# scripts/test.sh --quick [pytest args]: the inner loop (about 3 minutes): ruff, mypy, and on Airflow 3
# only every test not marked `slow` plus the `quick` ones (at least one real DAG run per feature).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--quick" ]; then
  shift
  scripts/bootstrap.sh af3 dbt
  echo "== ruff"; .venvs/af3/bin/ruff check datacoves_airflow_provider operators tests bench example_dags scripts
  echo "== mypy"; .venvs/af3/bin/mypy
  echo "== pytest --quick on $(.venvs/af3/bin/python -c 'import airflow; print("Airflow", airflow.__version__)')"
  exec .venvs/af3/bin/python -m pytest -n 2 --dist loadscope -p no:cacheprovider -m "not slow or quick" "$@"
fi
scripts/bootstrap.sh af3 af2 dbt af210
export PATH="$PWD/.venvs/af3/bin:$PATH"
echo "== ruff"; .venvs/af3/bin/ruff check datacoves_airflow_provider operators tests bench example_dags scripts
echo "== mypy"; .venvs/af3/bin/mypy
status=0
for line in af3 af2; do
  echo "== pytest on $(.venvs/$line/bin/python -c 'import airflow; print("Airflow", airflow.__version__)')"
  # exit code 5 (no test collected) is a failure here, like any other non-zero code
  .venvs/$line/bin/python -m pytest -n 2 --dist loadscope -p no:cacheprovider "$@" || status=$?
  [ "$status" -eq 0 ] || { echo "pytest failed on $line (exit $status)"; exit "$status"; }
done
echo "== pytest on the platform image: $(.venvs/af210/bin/python -c 'import airflow; print("Airflow", airflow.__version__)')"
# only tests/platform_image runs here (tests/conftest.py), and it runs only here; arguments are not passed on
.venvs/af210/bin/python -m pytest -p no:cacheprovider tests/platform_image || status=$?
[ "$status" -eq 0 ] || { echo "pytest failed on af210 (exit $status)"; exit "$status"; }
echo "== all checks passed on both Airflow lines and on the platform image"
