"""Benchmark: a 50 MB manifest through every artifact store vs ``shutil.copyfile``; time and memory.

Inputs are built here: a generated dbt-like ``manifest.json`` of 50 MB (JSON: metadata and 1 kB
nodes), moto's S3 server (``.venvs/dbt/bin/moto_server``, as in tests/harness/warehouses.py) on 127.0.0.1
with a bucket, and the reference dbt API server
(``datacoves_airflow_provider.testing.datacoves_api_server``) on 127.0.0.1 with its files on disk.

Each store is the one ``[datacoves] dbt_artifact_store`` selects (``artifact_store_from_config``, the
public way the operator gets it): the folder store (``/abs/folder``), S3 (``s3://bucket/prefix``,
connection ``aws_default`` pointing at moto) and the dbt API (``api``). The manifest is uploaded
(``store.upload``) and downloaded again (``store.download``) under the shared key
``target/manifest.json``, as the static artifacts are. The baseline is ``shutil.copyfile`` of the
same file there and back.

Every transfer runs in a fresh child process that does only that (imports, the store, one upload
and one download) and reports its time and peak RSS (``VmHWM``: see :func:`peak_rss_mb`). Both
servers run in processes of their own. The memory a transfer costs is
that peak minus the peak of the same child transferring a 1 kB file (same imports, client and
connection: "the same subprocess doing nothing"). Three rounds, stores in rotating order; medians.
A store must stream: its growth must stay within 64 MB (the file is 50 MB).

Run: .venvs/af3/bin/python bench/artifact_transfer.py   (or .venvs/af2/bin/python)
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL = 3.0
ROUNDS = 3
SIZE_MB = 50
RSS_LIMIT_MB = 64
ROOT = Path(__file__).resolve().parent.parent
DBT_VENV = ROOT / ".venvs" / "dbt"
TOKEN = "bench-token-0123456789"
BUCKET = "bench-artifacts"
STORES = ("copy", "folder", "s3", "api")


def write_manifest(path: Path, size: int) -> None:
    """A manifest.json of at least ``size`` bytes, written node by node (never held whole)."""
    with path.open("w") as fh:
        fh.write('{"metadata": {"dbt_schema_version": "https://schemas.getdbt.com/dbt/manifest/v12.json"}, ')
        fh.write('"nodes": {')
        i = 0
        while fh.tell() < size:
            node = {
                "unique_id": f"model.bench.model_{i:06d}",
                "resource_type": "model",
                "path": f"marts/model_{i:06d}.sql",
                "raw_code": "select id, amount from {{ ref('upstream') }} where id is not null " * 8,
                "depends_on": {"nodes": [f"model.bench.model_{j:06d}" for j in range(max(0, i - 3), i)]},
                "config": {"materialized": "table", "tags": ["daily", "finance"]},
            }
            fh.write(
                ("" if i == 0 else ", ") + json.dumps(f"model.bench.model_{i:06d}") + ": " + json.dumps(node)
            )
            i += 1
        fh.write('}, "sources": {}, "macros": {}}\n')


# -- child -----------------------------------------------------------------------------------------


def child(kind: str, source: str, work: str) -> None:
    """One transfer of ``source`` (upload then download into ``work``); prints a JSON line."""
    out = Path(work) / "downloaded.json"
    if kind == "copy":
        stored = Path(work) / "stored.json"
        start = time.perf_counter()
        shutil.copyfile(source, stored)
        middle = time.perf_counter()
        shutil.copyfile(stored, out)
    else:
        from datacoves_airflow_provider.dbt.artifact_store import (
            ArtifactKey,
            artifact_store_from_config,
        )

        store = artifact_store_from_config()
        key = ArtifactKey("target/manifest.json", None, "latest")
        start = time.perf_counter()
        store.upload(key, Path(source))
        middle = time.perf_counter()
        assert store.download(key, out), f"{kind}: the upload was not found again"
    end = time.perf_counter()
    assert out.stat().st_size == Path(source).stat().st_size, f"{kind}: the download has another size"
    print(json.dumps({"upload": middle - start, "download": end - middle, "maxrss_mb": peak_rss_mb()}))


def peak_rss_mb() -> float:
    """This process's peak RSS in MB: ``VmHWM``, which exec resets. (``ru_maxrss`` would not do
    here: Linux carries the parent's RSS at fork into a child's ``ru_maxrss``.)"""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def run_child(kind: str, source: Path, work: Path, env: dict[str, str]) -> dict[str, float]:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    proc = subprocess.run(
        [sys.executable, __file__, "--child", kind, str(source), str(work)],
        env=env,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"the {kind} transfer failed:\n{proc.stderr[-3000:]}")
    shutil.rmtree(work, ignore_errors=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# -- main ------------------------------------------------------------------------------------------


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"{proc.args[0]} did not listen on {port} within {timeout} s")


def main() -> None:
    moto = DBT_VENV / "bin" / "moto_server"
    if not moto.exists():
        raise SystemExit(f"{moto} is missing: build the tools venv with scripts/bootstrap.sh dbt")
    with tempfile.TemporaryDirectory(prefix="bench-artifact-transfer-") as tmp_name:
        tmp = Path(tmp_name)
        manifests = {"big": tmp / "manifest.json", "tiny": tmp / "tiny.json"}
        write_manifest(manifests["big"], SIZE_MB * 1024 * 1024)
        manifests["tiny"].write_text(json.dumps({"metadata": {}, "nodes": {"x": "y" * 1000}}))
        size_mb = manifests["big"].stat().st_size / 1024 / 1024

        port = free_port()
        moto_proc = subprocess.Popen(
            [str(moto), "-H", "127.0.0.1", "-p", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api_port = free_port()  # the reference server in its own process: it holds each upload whole
        api_proc = subprocess.Popen(
            [
                sys.executable,
                *("-m", "datacoves_airflow_provider.testing.datacoves_api_server", "--port", str(api_port)),
                *("--data-dir", str(tmp / "dbt_api"), "--token", TOKEN),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for_port(port, moto_proc)
            wait_for_port(api_port, api_proc)
            import boto3

            boto3.client(
                "s3",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            ).create_bucket(Bucket=BUCKET)
            (tmp / "airflow_home").mkdir()
            base_env = {
                **os.environ,
                "AIRFLOW_HOME": str(tmp / "airflow_home"),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
                "AWS_EC2_METADATA_DISABLED": "true",
                "PYTHONWARNINGS": "ignore",
            }
            envs = {
                "copy": base_env,
                "folder": {**base_env, "AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE": str(tmp / "folder_store")},
                "s3": {
                    **base_env,
                    "AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE": f"s3://{BUCKET}/dbt",
                    "AIRFLOW_CONN_AWS_DEFAULT": json.dumps(
                        {
                            "conn_type": "aws",
                            "login": "testing",
                            "password": "testing",
                            "extra": {"region_name": "us-east-1", "endpoint_url": f"http://127.0.0.1:{port}"},
                        }
                    ),
                },
                "api": {
                    **base_env,
                    "AIRFLOW__DATACOVES__DBT_ARTIFACT_STORE": "api",
                    "DATACOVES__API_ENDPOINT": f"http://127.0.0.1:{api_port}",
                    "DATACOVES__API_TOKEN": TOKEN,
                    "DATACOVES__ACCOUNT_ID": "1",
                    "DATACOVES__PROJECT_SLUG": "bench",
                    "DATACOVES__ENVIRONMENT_SLUG": "bench",
                },
            }
            results: dict[str, list[dict[str, float]]] = {kind: [] for kind in STORES}
            growth: dict[str, list[float]] = {kind: [] for kind in STORES}
            run_child("copy", manifests["big"], tmp / "work", envs["copy"])  # warm-up: page cache
            for i in range(ROUNDS):
                for kind in STORES[i % len(STORES) :] + STORES[: i % len(STORES)]:
                    idle = run_child(kind, manifests["tiny"], tmp / "work", envs[kind])
                    big = run_child(kind, manifests["big"], tmp / "work", envs[kind])
                    results[kind].append(big)
                    growth[kind].append(big["maxrss_mb"] - idle["maxrss_mb"])
        finally:
            for proc in (api_proc, moto_proc):
                proc.terminate()
                proc.wait(timeout=10)

    from airflow import __version__

    print(f"Airflow {__version__}: a {size_mb:.1f} MB manifest.json uploaded and downloaded, {ROUNDS} rounds")
    total: dict[str, float] = {}
    failing = []
    for kind in STORES:
        up = statistics.median(r["upload"] for r in results[kind])
        down = statistics.median(r["download"] for r in results[kind])
        total[kind] = statistics.median(r["upload"] + r["download"] for r in results[kind])
        rss = statistics.median(growth[kind])
        verdict = "ok" if rss <= RSS_LIMIT_MB else f"FAILS (> {RSS_LIMIT_MB} MB: holds the file)"
        if rss > RSS_LIMIT_MB:
            failing.append(kind)
        label = "shutil.copyfile" if kind == "copy" else f"{kind} store"
        print(
            f"  {label:16s} upload {up:6.3f} s  download {down:6.3f} s  total {total[kind]:6.3f} s  "
            f"({total[kind] / total['copy']:5.1f}x copy)  peak RSS growth {rss:6.1f} MB "
            f"(rounds {[round(g, 1) for g in growth[kind]]})  {verdict}"
        )
    worst = max((k for k in STORES if k != "copy"), key=lambda k: total[k])
    print(
        f"slowest store: {worst}; stores over {RSS_LIMIT_MB} MB of RSS growth: {', '.join(failing) or 'none'}"
    )
    print(f"BENCH artifact_transfer ratio={total[worst] / total['copy']:.3f} goal={GOAL}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:5])
    else:
        main()
