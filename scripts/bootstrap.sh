#!/usr/bin/env bash
# Build the virtualenvs from the committed lock files: .venvs/af3 (newest Airflow 3.x),
# .venvs/af2 (Airflow 2.11) and .venvs/dbt (dbt-core 1.11 + adapters + fakesnow, for tests; no Airflow,
# and our package is not installed there). Needs only python3 with pip; installs uv if it is missing.
# .venvs/bench (dlt and DuckDB for bench/db_sync.py's baselines; never a dependency of the package) and
# .venvs/af210 (the Datacoves platform's image: Airflow 2.10.5 and the providers it pins; our package
# installed from a built wheel, with its dependencies, the way a user installs it) are built on request.
# Usage: scripts/bootstrap.sh [af3|af2|af210|dbt|bench]...   (default: af3 af2 dbt)
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
  hash -r
fi
UV="$(command -v uv || echo "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/uv")"
lines=("$@"); [ ${#lines[@]} -gt 0 ] || lines=(af3 af2 dbt)
for line in "${lines[@]}"; do
  case "$line" in af3) lock=requirements/airflow3.lock ;; af2) lock=requirements/airflow2.lock ;;
    af210) lock=requirements/airflow210.lock ;;
    dbt) lock=requirements/dbt.lock ;;
    bench) lock=requirements/bench.lock ;;
    *) echo "unknown venv line '$line' (use af3, af2, af210, dbt or bench)" >&2; exit 2 ;; esac
  venv=".venvs/$line"
  [ -x "$venv/bin/python" ] || "$UV" venv --quiet --python "$("$PYTHON" -c 'import sys; print(sys.executable)')" "$venv"
  VIRTUAL_ENV="$venv" "$UV" pip sync --quiet --compile-bytecode "$lock"
  if [ "$line" = bench ]; then
    echo "$venv ready: $("$venv/bin/python" -c 'import dlt, duckdb; print("dlt", dlt.__version__, "duckdb", duckdb.__version__)')"
  elif [ "$line" = af210 ]; then
    # a wheel, installed without --no-deps: tests/platform_image checks that this changes nothing else
    dist="$(mktemp -d)"
    "$UV" build --quiet --wheel --out-dir "$dist" .
    VIRTUAL_ENV="$venv" "$UV" pip install --quiet --reinstall-package datacoves-airflow-provider "$dist"/*.whl
    rm -rf "$dist"
    echo "$venv ready: $("$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)') (the platform image)"
  elif [ "$line" = dbt ]; then
    echo "$venv ready: $("$venv/bin/python" -c 'import dbt.version; print("dbt-core", dbt.version.__version__)')"
  else
    VIRTUAL_ENV="$venv" "$UV" pip install --quiet --no-deps -e .
    echo "$venv ready: $("$venv/bin/python" -c 'import airflow; print("Airflow", airflow.__version__)')"
  fi
done
