"""Build a synthetic Datacoves-style repository for the staging benchmark and tests.

The tree looks like a real analytics repo after a few months of work: a git history, an
``orchestrate/`` folder with DAGs and scripts, a dbt project under ``transform/`` with models,
seeds, installed packages and the outputs of earlier runs (``target/``, ``logs/``), and a
virtualenv checked out beside it. About 10,000 files and 200 MB by default.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

__all__ = ["build_synthetic_repo"]


def _write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data)


def _git(repo: Path, *args: str) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@example.com",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@example.com",
    }
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)


def build_synthetic_repo(root: Path, *, scale: float = 1.0, seed: int = 7) -> Path:
    """Create the repository at ``root`` (which must not exist) and return it.

    :param root: where to create the repository.
    :param scale: multiplies file counts and sizes; 1.0 gives about 10,000 files and 200 MB.
    :param seed: random seed, so two builds are identical.
    """
    rng = random.Random(seed)
    root.mkdir(parents=True)
    n_models = int(1000 * scale)

    def blob(size: int) -> bytes:
        return rng.randbytes(size)

    # Working tree: DAGs, scripts, a dbt project.
    for i in range(int(60 * scale)):
        _write(root / "orchestrate" / "dags" / f"dag_{i:03d}.py", f"# dag {i}\n" + "x = 1\n" * 40)
    for i in range(int(40 * scale)):
        _write(root / "orchestrate" / "python_scripts" / f"script_{i:03d}.py", "print('hi')\n" * 30)
    dbt = root / "transform"
    _write(dbt / "dbt_project.yml", "name: bench\nversion: '1.0'\nprofile: default\n")
    for i in range(n_models):
        _write(dbt / "models" / f"area_{i % 20}" / f"model_{i:04d}.sql", f"select {i} as id\n" * 20)
        if i % 2 == 0:
            _write(dbt / "models" / f"area_{i % 20}" / f"model_{i:04d}.yml", "version: 2\n" * 30)
    for i in range(int(120 * scale)):
        _write(dbt / "macros" / f"macro_{i:03d}.sql", "{% macro m() %}select 1{% endmacro %}\n" * 10)
    for i in range(int(8 * scale)):
        _write(dbt / "seeds" / f"seed_{i}.csv", blob(int(1_500_000 * scale)).hex()[: int(1_500_000 * scale)])
    # Installed dbt packages.
    for i in range(int(800 * scale)):
        _write(dbt / "dbt_packages" / "dbt_utils" / "macros" / f"m_{i:03d}.sql", "select 1\n" * 80)

    # First commits: the tree as git sees it (outputs and venv are ignored, as in real repos).
    _write(root / ".gitignore", "transform/target/\ntransform/logs/\n.venv/\n")
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "initial")
    for commit in range(int(6 * scale)):
        for i in range(int(8 * scale)):
            _write(dbt / "seeds" / f"seed_{i}.csv", blob(int(1_300_000 * scale)).hex())
        for i in range(0, n_models, 7):
            _write(dbt / "models" / f"area_{i % 20}" / f"model_{i:04d}.sql", f"select {i + commit}\n" * 20)
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"change {commit}")
    _git(root, "repack", "-a", "-d", "-q")
    # A few loose objects after the last pack, as a live checkout has.
    for loose in range(2):
        for i in range(0, n_models, 2):
            _write(dbt / "models" / f"area_{i % 20}" / f"model_{i:04d}.sql", f"select {i}, {loose}\n" * 20)
        _git(root, "add", "-A")
        _git(root, "commit", "-q", "-m", f"latest {loose}")

    # Outputs of earlier dbt runs.
    target = dbt / "target"
    manifest = {"nodes": {f"model.bench.m{i}": {"raw_code": "select 1 " * 400} for i in range(n_models * 8)}}
    _write(target / "manifest.json", json.dumps(manifest))
    _write(target / "partial_parse.msgpack", blob(int(8_000_000 * scale)))
    for i in range(n_models):
        _write(target / "compiled" / "bench" / f"model_{i:04d}.sql", f"select {i}\n" * 40)
        _write(target / "run" / "bench" / f"model_{i:04d}.sql", f"create table x as select {i}\n" * 40)
    _write(dbt / "logs" / "dbt.log", "log line\n" * int(1_500_000 * scale))

    # A virtualenv kept in the repo folder.
    venv = root / ".venv"
    _write(venv / "pyvenv.cfg", f"home = {os.path.dirname(sys.executable)}\n")
    for i in range(int(4000 * scale)):
        _write(
            venv / "lib" / "python3.11" / "site-packages" / f"pkg_{i // 40}" / f"mod_{i}.py", "y = 2\n" * 1800
        )
    return root


if __name__ == "__main__":
    out = build_synthetic_repo(Path(sys.argv[1]))
    files = sum(len(f) for _, _, f in os.walk(out))
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file() and not p.is_symlink())
    print(f"{out}: {files} files, {size / 1e6:.0f} MB")
