"""Repository staging on real folders: what is copied, shared and left out, and cleanup."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest
from conftest import build_sample_repo, tree_fingerprint

from datacoves_airflow_provider.operators.repo_staging import (
    StagingError,
    StagingPolicy,
    stage_repository,
)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = build_sample_repo(tmp_path / "src")
    venv = root / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (root / "transform" / "logs").mkdir()
    (root / "transform" / "logs" / "dbt.log").write_text("old log")
    (root / "transform" / "dbt_packages" / "pkg").mkdir(parents=True)
    (root / "transform" / "dbt_packages" / "pkg" / "m.sql").write_text("select 1")
    (root / "data" / "raw").mkdir(parents=True)
    (root / "data" / "raw" / "big.csv").write_text("a,b\n")
    (root / "link_to_readme").symlink_to("README.md")
    (root / "run.sh").write_text("#!/bin/sh\necho run\n")
    (root / "run.sh").chmod(0o755)
    with open(root / ".gitignore", "a") as fh:  # as real repos ignore them
        fh.write(".venv/\ntransform/logs/\n")
    return root


def test_default_policy(repo: Path, tmp_path: Path):
    before = tree_fingerprint(repo)
    with stage_repository(repo, base_dir=tmp_path / "stage") as staged:
        copy = staged.repo
        assert stat.S_IMODE(staged.root.stat().st_mode) == 0o700
        # working tree copied, writable, modes and links kept
        assert (
            copy / "orchestrate" / "utils" / "helpers.py"
        ).read_text() == "GREETING = 'hello from the repo copy'\n"
        assert (copy / "transform" / "dbt_packages" / "pkg" / "m.sql").is_file()
        assert os.readlink(copy / "link_to_readme") == "README.md"
        assert os.access(copy / "run.sh", os.X_OK)
        # dbt outputs left out, virtualenv shared, git objects shared through alternates
        assert not (copy / "transform" / "target").exists()
        assert not (copy / "transform" / "logs").exists()
        assert (copy / ".venv").is_symlink() and os.readlink(copy / ".venv") == str(repo.resolve() / ".venv")
        alternates = (copy / ".git" / "objects" / "info" / "alternates").read_text().strip()
        assert alternates == str((repo / ".git" / "objects").resolve())
        # git reads and writes in the copy without touching the source
        git = ["git", "-c", "user.name=t", "-c", "user.email=t@e"]
        status = [*git, "status", "--short"]
        source_status = subprocess.run(status, cwd=repo, capture_output=True, text=True).stdout
        assert subprocess.run(status, cwd=copy, capture_output=True, text=True).stdout == source_status
        (copy / "README.md").write_text("changed")
        subprocess.run([*git, "commit", "-qam", "in the copy"], cwd=copy, check=True)
        log = subprocess.run([*git, "log", "--oneline"], cwd=copy, capture_output=True, text=True).stdout
        assert len(log.splitlines()) == 2
    assert not staged.root.exists()
    assert tree_fingerprint(repo) == before


def test_full_copy_and_custom_policy(repo: Path, tmp_path: Path):
    with stage_repository(repo, policy=StagingPolicy.full_copy(), base_dir=tmp_path) as staged:
        assert (staged.repo / "transform" / "target" / "manifest.json").exists()
        assert (staged.repo / ".venv").is_dir() and not (staged.repo / ".venv").is_symlink()
        assert not (staged.repo / ".git" / "objects" / "info" / "alternates").exists()
    policy = StagingPolicy(exclude=["data/raw"], share=["transform/dbt_packages"], copy_dbt_outputs=True)
    with stage_repository(repo, policy=policy, base_dir=tmp_path) as staged:
        assert not (staged.repo / "data" / "raw").exists() and (staged.repo / "data").is_dir()
        assert (staged.repo / "transform" / "dbt_packages").is_symlink()
        assert (staged.repo / "transform" / "logs" / "dbt.log").read_text() == "old log"


def test_read_only_source_gives_writable_copy(repo: Path, tmp_path: Path):
    for dirpath, _dirnames, filenames in os.walk(repo / "orchestrate"):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o444)
    os.chmod(repo / "orchestrate", 0o555)
    try:
        with stage_repository(repo, base_dir=tmp_path) as staged:
            (staged.repo / "orchestrate" / "new.txt").write_text("ok")
            (staged.repo / "orchestrate" / "__init__.py").write_text("# changed")
            # a command that leaves read-only things behind does not break cleanup
            os.chmod(staged.repo / "orchestrate", 0o500)
    finally:
        os.chmod(repo / "orchestrate", 0o755)
    assert not staged.root.exists()


def test_cleanup_after_exception_and_base_exception(repo: Path, tmp_path: Path):
    class Boom(BaseException):
        pass

    for exc in (RuntimeError("x"), Boom()):
        with pytest.raises(type(exc)), stage_repository(repo, base_dir=tmp_path) as staged:
            raise exc
        assert not staged.root.exists()


def test_stale_folders_of_dead_processes_are_swept(repo: Path, tmp_path: Path):
    proc = subprocess.Popen(["true"])
    proc.wait()
    with stage_repository(repo, base_dir=tmp_path) as staged:
        prefix = staged.root.name.rsplit("-", 2)[0]  # datacoves-stage-<pidns>
    stale = tmp_path / f"{prefix}-{proc.pid}-abc"
    (stale / "repo").mkdir(parents=True)
    foreign = tmp_path / f"datacoves-stage-1-{proc.pid}-abc"  # another PID namespace: left alone
    foreign.mkdir()
    with stage_repository(repo, base_dir=tmp_path):
        pass
    assert not stale.exists()
    assert foreign.exists()


def test_missing_source_is_a_clear_error(tmp_path: Path):
    with pytest.raises(StagingError, match="set DATACOVES__REPO_PATH"), stage_repository(tmp_path / "nope"):
        pass
