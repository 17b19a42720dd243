#!/usr/bin/env bash
# Install check: what README's "Install" section promises about versions, tried the way a user
# installs (no lock file). Builds the wheel, then for each Airflow line (2.x: apache-airflow>=2.10,<3;
# 3.x: apache-airflow>=3), on the oldest and the newest Python that line supports, and with uv's
# newest resolution and with --resolution lowest-direct, in a fresh virtualenv:
#   uv pip install <wheel>[every extra] "apache-airflow<line>" "pytest>=8"
# (every extra the wheel's metadata declares, `all` included)
# (lowest-direct also names the extras' requirements and Airflow's floor on the line, so that
# the declared minimums themselves are what gets installed: uv's lowest-direct alone only lowers
# what the command line names, and picks 2.11.0 for ">=2.10,<3"), then
#   - imports every module of the wheel and what each extra is for (scripts/install_check/probe.py),
#   - checks Airflow's ProvidersManager lists the provider and its task decorators,
#   - runs one @task.datacoves_bash DAG with `airflow dags test` (SQLite, `airflow db migrate`
#     first, DATACOVES__REPO_PATH a temporary git repository) and checks its task succeeded.
# Every combination must pass; a missing interpreter is a failure, never a skip. Combinations run
# INSTALL_CHECK_JOBS at a time (default 4); uv's cache is shared with scripts/bootstrap.sh.
# Interpreters: PYTHON3_10=/path/to/python3.10 (and so on) override the search (pyenv, PATH, uv).
# Usage: scripts/install_check.sh        (called by scripts/test.sh; INSTALL_CHECK_ONLY='<glob>' runs only
#        the combinations whose name matches, e.g. 'af3-py3.10-*', while working on one)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
PYTHON="${PYTHON:-python3}"
if ! command -v uv >/dev/null 2>&1; then
  "$PYTHON" -m pip install --quiet --disable-pip-version-check uv
  hash -r
fi
UV="$(command -v uv || echo "$("$PYTHON" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')/uv")"
JOBS="${INSTALL_CHECK_JOBS:-4}"
# line, Airflow requirement, Airflow's first release on the line, oldest and newest Python it supports
AF2=("apache-airflow>=2.10,<3" "" 3.10 3.12)   # floor: pyproject's own minimum (below)
# 3.0 is excluded by pyproject.toml. The Airflow 3 floor installed is 3.1.8, the last patch of 3.1:
# Airflow 3.1.0 to 3.1.7 install, but with today's unpinned libraries (no constraints file: see
# below) their own execution API rejects a task's start ("Remote server returned validation error")
# before any code of this package runs, so they prove nothing about it.
AF3=("apache-airflow>=3" "${INSTALL_CHECK_AF3_FLOOR:-3.1.8}" 3.10 3.13)
# the Amazon provider's releases before 9.6.0 declare Airflow 3 but do not import on it (they use
# airflow.utils.log.secrets_masker): on Airflow 3 the aws and redshift extras' floor is this one (README)
AF3_FLOORS=("apache-airflow-providers-amazon>=9.6.0")
# Airflow's floor on each line is installed with Airflow's own upper bounds only: Airflow's install
# guide adds a constraints file per release, which this machine cannot fetch. Two libraries released
# since break the oldest Airflow 3 releases (not this package), so the lowest-direct runs on Airflow 3
# apply these two constraints from that era (constraints, not requirements: they are not lowered):
#   structlog<25.5: Airflow 3.1.0-3.1.7 import structlog.dev.Styles, which structlog 25.5 removed;
#   sqlalchemy<2.1: snowflake-sqlalchemy 1.11 (what the Snowflake provider's floor resolves to)
#   subclasses sqlalchemy.orm.context.ORMSelectCompileState, which SQLAlchemy 2.1 removed.
AF3_ERA_CONSTRAINTS=("structlog<25.5" "sqlalchemy<2.1")

start=$SECONDS
work="$(mktemp -d "${TMPDIR:-/tmp}/datacoves-install-check.XXXXXX")"
trap 'rm -rf "$work"' EXIT

find_python() {  # <major.minor>: print an interpreter of exactly that version, or fail
  local want="$1" var="PYTHON${1/./_}" candidate
  local -a candidates=()
  [ -z "${!var:-}" ] || candidates+=("${!var}")
  for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$want".*/bin/python"$want"; do
    candidates+=("$candidate")
  done
  candidates+=("$(command -v "python$want" || true)" "$("$UV" python find --no-python-downloads "$want" 2>/dev/null || true)")
  for candidate in "${candidates[@]}"; do
    [ -n "$candidate" ] && [ -x "$candidate" ] || continue
    if [ "$("$candidate" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" = "$want" ]; then
      echo "$candidate"
      return 0
    fi
  done
  echo "install check: no Python $want interpreter found (tried ${var}, pyenv, PATH, uv python find);" \
    "install one or set $var=/path/to/python$want" >&2
  return 1
}

echo "== install check: building the wheel"
"$UV" build --quiet --wheel --out-dir "$work/dist" .
wheel="$(ls "$work"/dist/datacoves_airflow_provider-*.whl)"
# the extras, their requirements and Airflow's minimum, as the wheel declares them
metadata="$("$PYTHON" - "$wheel" <<'EOF'
import re, sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as whl:
    name = next(n for n in whl.namelist() if n.endswith(".dist-info/METADATA"))
    for line in whl.read(name).decode().splitlines():
        if line.startswith("Provides-Extra: "):
            print("name", line[len("Provides-Extra: "):])
        elif line.startswith("Requires-Dist: "):
            req = line[len("Requires-Dist: "):]
            if re.match(r"datacoves[-_.]airflow[-_.]provider\b", req, re.IGNORECASE):
                continue  # an extra made of other extras (hatchling < 1.23 writes `all` this way)
            if "extra ==" in req:
                # the requirement with its other markers (python_version), without the extra's
                spec, marker = (part.strip() for part in req.split(";", 1))
                marker = re.sub(r"\s*(and\s+)?extra\s*==\s*[\"'][^\"']+[\"']", "", marker).strip()
                print("extra", f"{spec}; {marker}" if marker else spec)
            elif req.startswith("apache-airflow"):
                print("floor", re.search(r">=\s*([0-9.]+)", req).group(1))
EOF
)"
mapfile -t extra_reqs < <(sed -n 's/^extra //p' <<<"$metadata" | sort -u)
EXTRAS="$(sed -n 's/^name //p' <<<"$metadata" | paste -sd, -)"
AF2[1]="$(sed -n 's/^floor //p' <<<"$metadata")"
[ ${#extra_reqs[@]} -ge 4 ] && [ -n "$EXTRAS" ] && [ -n "${AF2[1]}" ] || { echo "install check: cannot read $wheel's metadata:" >&2; echo "$metadata" >&2; exit 1; }

run_one() {  # <name> <python> <resolution> <airflow requirement> <floor>
  local name="$1" python="$2" resolution="$3" airflow_req="$4" floor="$5"
  local dir="$work/$name" t0=$SECONDS
  local venv="$dir/venv" home="$dir/home" repo="$dir/repo"
  local -a reqs=("$wheel[$EXTRAS]" "$airflow_req" "pytest>=8")
  [ "$resolution" = highest ] || reqs+=("apache-airflow==$floor" "${extra_reqs[@]}")
  local -a constraints=()
  if [ "$resolution" != highest ] && [ "${floor%%.*}" = 3 ]; then
    reqs+=("${AF3_FLOORS[@]}")
    printf '%s\n' "${AF3_ERA_CONSTRAINTS[@]}" >"$dir.constraints.txt"
    constraints=(--constraints "$dir.constraints.txt")
  fi
  mkdir -p "$dir" "$home"
  "$UV" venv --quiet --python "$python" "$venv"
  echo "+ uv pip install --resolution $resolution ${constraints[*]} ${reqs[*]}"
  VIRTUAL_ENV="$venv" "$UV" pip install --quiet --resolution "$resolution" "${constraints[@]}" "${reqs[@]}"
  "$venv/bin/python" "$ROOT/scripts/install_check/probe.py" imports
  mkdir -p "$repo"
  echo install-check-marker >"$repo/install_check_marker.txt"
  git -C "$repo" init --quiet
  git -C "$repo" -c user.name=check -c user.email=check@example.invalid add -A
  git -C "$repo" -c user.name=check -c user.email=check@example.invalid commit --quiet -m repo
  local -a unset_vars=()
  local var
  for var in $(compgen -e); do
    case "$var" in AIRFLOW*|DATACOVES__*) unset_vars+=(-u "$var") ;; esac
  done
  local -a airflow_env=(env "${unset_vars[@]}" AIRFLOW_HOME="$home"
    AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER="$ROOT/scripts/install_check/dags"
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$home/airflow.db" AIRFLOW__CORE__UNIT_TEST_MODE=False
    AIRFLOW__LOGGING__BASE_LOG_FOLDER="$home/logs" AIRFLOW__CORE__DAGBAG_IMPORT_TIMEOUT=120
    PYTHONWARNINGS=ignore DATACOVES__REPO_PATH="$repo" INSTALL_CHECK_SOURCE="$repo"
    INSTALL_CHECK_EVIDENCE="$dir/evidence.txt" PATH="$venv/bin:$PATH")
  "${airflow_env[@]}" "$venv/bin/airflow" db migrate >"$dir/db-migrate.log" 2>&1 \
    || { cat "$dir/db-migrate.log"; echo "airflow db migrate failed"; return 1; }
  "${airflow_env[@]}" "$venv/bin/airflow" dags test datacoves_install_check 2024-01-02 >"$dir/dags-test.log" 2>&1 \
    || { cat "$dir/dags-test.log"; echo "airflow dags test failed"; return 1; }
  "$venv/bin/python" "$ROOT/scripts/install_check/probe.py" verify "$home" "$dir/evidence.txt" \
    || { cat "$dir/dags-test.log"; return 1; }
  echo "done in $((SECONDS - t0)) s"
}

combos=()
for line in AF2 AF3; do
  declare -n spec="$line"
  for python_version in "${spec[2]}" "${spec[3]}"; do
    python="$(find_python "$python_version")"
    for resolution in highest lowest-direct; do
      combos+=("${line,,}-py$python_version-$resolution|$python|$resolution|${spec[0]}|${spec[1]}")
    done
  done
  unset -n spec
done

echo "== install check: fresh installs of $(basename "$wheel") (${INSTALL_CHECK_ONLY:-all 8 combinations}), $JOBS at a time"
pids=()
names=()
for combo in "${combos[@]}"; do
  IFS='|' read -r name python resolution airflow_req floor <<<"$combo"
  # shellcheck disable=SC2254  # a developer's glob, e.g. INSTALL_CHECK_ONLY='af3-*-lowest-direct'
  case "$name" in ${INSTALL_CHECK_ONLY:-*}) ;; *) continue ;; esac
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do sleep 1; done
  ( run_one "$name" "$python" "$resolution" "$airflow_req" "$floor" >"$work/$name.log" 2>&1 ) &
  pids+=($!)
  names+=("$name")
done
failed=0
for i in "${!pids[@]}"; do
  if wait "${pids[$i]}"; then
    echo "-- ${names[$i]}: ok ($(grep -h '^versions: \|^done in' "$work/${names[$i]}.log" | tail -2 | tr '\n' ' '))"
  else
    failed=$((failed + 1))
    echo "-- ${names[$i]}: FAILED; its log:"
    sed 's/^/   | /' "$work/${names[$i]}.log"
  fi
done
if [ "$failed" -ne 0 ] || [ ${#pids[@]} -ne "$([ -n "${INSTALL_CHECK_ONLY:-}" ] && echo ${#pids[@]} || echo 8)" ] \
  || [ ${#pids[@]} -eq 0 ]; then
  echo "== install check FAILED: $failed of ${#pids[@]} combinations failed ($((SECONDS - start)) s)"
  exit 1
fi
echo "== install check passed: ${#pids[@]} combinations in $((SECONDS - start)) s"
