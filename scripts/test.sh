#!/usr/bin/env bash
# The whole test suite: lint and type checks; every test on Airflow 3.x; every test on Airflow 2.11
# with, beside it, the install check (scripts/install_check.sh: the built wheel installed as a user
# would, per Airflow line, oldest and newest Python, newest and lowest-direct resolution); then
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
# Airflow 3 first; then Airflow 2 with the install check beside it (Airflow 2's tests leave about a
# quarter of this machine's two cores idle, waiting on schedulers and retries; Airflow 3's do not, and
# running both lines at once overloads two cores: tests/harness/profile.py and scripts/cpu_census.py
# measure it). The install check's log is printed whole when it ends.
logs="$(mktemp -d "${TMPDIR:-/tmp}/datacoves-test.XXXXXX")"
trap 'rm -rf "$logs"' EXIT
version() { ".venvs/$1/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)'; }
pytest_line() {  # <venv> [pytest args]: every test on that line; exit code 5 (no test collected) fails too
  local line="$1"; shift
  ".venvs/$line/bin/python" -m pytest -n 2 --dist loadscope -p no:cacheprovider "$@"
}
echo "== pytest on $(version af3)"
af3_status=0; pytest_line af3 "$@" || af3_status=$?
INSTALL_CHECK_JOBS="${INSTALL_CHECK_JOBS:-2}" scripts/install_check.sh >"$logs/install_check.log" 2>&1 &
install_pid=$!
echo "== pytest on $(version af2) (the install check runs beside it)"
af2_status=0; pytest_line af2 "$@" || af2_status=$?
install_status=0; wait "$install_pid" || install_status=$?
echo "== install check (its log)"; cat "$logs/install_check.log"
echo "== pytest on the platform image: $(version af210)"
# only tests/platform_image runs here (tests/conftest.py), and it runs only here; arguments are not passed on
af210_status=0; .venvs/af210/bin/python -m pytest -p no:cacheprovider tests/platform_image || af210_status=$?
status=0
for result in "af3:$af3_status" "af2:$af2_status" "install check:$install_status" "af210:$af210_status"; do
  [ "${result##*:}" -eq 0 ] || { echo "FAILED: ${result%:*} (exit ${result##*:})"; status=1; }
done
[ "$status" -eq 0 ] || exit 1
echo "== all checks passed on both Airflow lines, the install check and the platform image"
