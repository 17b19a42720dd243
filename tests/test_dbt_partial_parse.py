"""Why dbt parsed everything again: real dbt (the dbt virtualenv) parses copies of the demo
repository's ``transform`` project with a downloaded-like partial_parse.msgpack in ``target/``, and
:class:`PartialParseCheck` explains the refusals the way the dbt operator does after dbt ran.
The operator's log block and summary XCom are checked through ``airflow dags test`` in
``test_dbt_artifact_runs.py``."""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest
from harness.dbt import dbt_env
from harness.paths import DEMO_REPO

from datacoves_airflow_provider.dbt.partial_parse import (
    PartialParseCheck,
    UnreadableParseState,
    explain_full_reparse,
    format_reparse_reason,
    read_parse_state,
)

PROFILES = """\
default:
  target: a
  outputs:
    a: {{type: duckdb, path: "{folder}/a.duckdb", threads: 1}}
    b: {{type: duckdb, path: "{folder}/b.duckdb", threads: 1}}
"""
#: dbt's own (info level) words for a full parse, to check that dbt really refused the file.
REFUSED = "Unable to do partial parsing because"


def dbt(dbt_venv: Path, project: Path, *args: str) -> str:
    env = {**os.environ, **dbt_env(dbt_venv), "DBT_PROFILES_DIR": str(project)}
    proc = subprocess.run(
        [str(dbt_venv / "bin" / "dbt"), *args],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


@pytest.fixture(scope="module")
def written(dbt_venv, tmp_path_factory) -> Path:
    """The demo project, its packages installed, parsed under target ``a``: the project folder,
    whose ``target/partial_parse.msgpack`` plays the uploaded artifact."""
    project = tmp_path_factory.mktemp("partial_parse") / "transform"
    shutil.copytree(
        DEMO_REPO / "transform", project, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    (project / "profiles.yml").write_text(PROFILES.format(folder=project.parent))
    dbt(dbt_venv, project, "deps")
    dbt(dbt_venv, project, "parse", "--target", "a")
    return project


@pytest.fixture
def project(written, tmp_path) -> Path:
    """A private copy of the parsed project (its packages as real folders, not links)."""
    copy = tmp_path / "transform"
    shutil.copytree(written, copy)  # profiles.yml too: the same connection fields
    return copy


def run_with_artifact(dbt_venv: Path, project: Path, artifact: Path, *args: str) -> tuple[list[str], str]:
    """Put ``artifact`` where the operator downloads it, run ``dbt parse`` as the task would and
    return the explanation and dbt's output."""
    target = project / "target"
    if artifact != target / "partial_parse.msgpack":
        shutil.copyfile(artifact, target / "partial_parse.msgpack")
    check = PartialParseCheck(target, project.parent / "kept.msgpack", logging.getLogger("test"))
    started = time.time()
    output = dbt(dbt_venv, project, "parse", *args)
    reasons = check.explain(written_after=started, profile=None, target=args[-1] if args else None)
    assert not (project.parent / "kept.msgpack").exists()  # the private copy is removed
    return reasons, output


def fake_version(dbt_venv: Path, source: Path, dest: Path, version: str) -> Path:
    """A copy of ``source`` claiming another dbt version wrote it (msgpack from the dbt virtualenv)."""
    script = (
        "import msgpack, sys\n"
        "data = msgpack.unpackb(open(sys.argv[1], 'rb').read(), raw=False, strict_map_key=False)\n"
        "data['metadata']['dbt_version'] = sys.argv[3]\n"
        "open(sys.argv[2], 'wb').write(msgpack.packb(data, use_bin_type=True))\n"
    )
    subprocess.run([str(dbt_venv / "bin" / "python"), "-c", script, source, dest, version], check=True)
    return dest


def test_reads_the_version_and_state_checks(written):
    state = read_parse_state(written / "target" / "partial_parse.msgpack")
    assert state.dbt_version and state.dbt_version.startswith("1.11.")
    assert state.project_name == "demo"
    assert state.adapter_type == "duckdb"
    assert set(state.project_hashes) == {"demo", "money", "dbt", "dbt_duckdb"}
    assert all(h and h.startswith("sha256:") for h in (state.vars_hash, state.profile_hash))


def test_a_working_partial_parse_says_nothing(dbt_venv, project):
    reasons, output = run_with_artifact(
        dbt_venv, project, project / "target" / "partial_parse.msgpack", "--target", "a"
    )
    assert REFUSED not in output
    assert reasons == []


def test_another_target_names_the_vars_and_profile_checks(dbt_venv, written, project):
    reasons, output = run_with_artifact(
        dbt_venv, project, written / "target" / "partial_parse.msgpack", "--target", "b"
    )
    assert "config vars, config profile, or config target have changed" in output  # dbt agrees
    assert len(reasons) == 2, reasons
    assert reasons[0].startswith("vars hash differs: the profile name, the target name or --vars")
    assert "(this task passes target 'b')" in reasons[0]
    assert reasons[1].startswith("profile hash differs: the selected target's connection fields")
    block = format_reparse_reason(reasons)
    assert block.startswith("dbt parsed the whole project again: it refused the downloaded")


def test_another_dbt_version_is_named_with_both_versions(dbt_venv, written, project, tmp_path):
    saved = written / "target" / "partial_parse.msgpack"
    current = read_parse_state(saved).dbt_version
    old = fake_version(dbt_venv, saved, tmp_path / "old.msgpack", "1.10.2")
    reasons, output = run_with_artifact(dbt_venv, project, old, "--target", "a")
    assert "Unable to do partial parsing because of a version mismatch" in output
    assert reasons == [
        f"dbt version: the artifact was written by dbt 1.10.2, this worker runs dbt {current}; dbt "
        f"checks this first and then ignores the file: upload partial_parse.msgpack from a task whose "
        f"dbt is {current}, or run dbt 1.10.2 here"
    ]
    # what dbt's version check hides is told too
    reasons, _ = run_with_artifact(dbt_venv, project, old, "--target", "b")
    assert reasons[0].startswith("dbt version: the artifact was written by dbt 1.10.2")
    assert reasons[1:] == [
        "then also (hidden by the version check): profile hash differs: the selected target's "
        "connection fields (host, database, schema, user, warehouse, role... not the password) are "
        "not the writer's; use the same connection, target and overrides as the task that uploads "
        "the artifact"
    ]


def test_a_changed_package_project_file_names_the_package(dbt_venv, written, project):
    package = project / "dbt_packages" / "money" / "dbt_project.yml"
    package.write_text(package.read_text() + "\n# 1.0.1\n")
    reasons, output = run_with_artifact(
        dbt_venv, project, written / "target" / "partial_parse.msgpack", "--target", "a"
    )
    assert "a project config has changed" in output
    assert reasons == [
        "dbt_project.yml of package 'money' differs: another version of the package is installed "
        "here; pin the same version (packages.yml, package-lock.yml) for both tasks and run dbt deps"
    ]


def test_a_changed_root_project_file_and_env_vars(dbt_venv, written, project):
    root = project / "dbt_project.yml"
    root.write_text(
        root.read_text().replace('version: "1.0"', "version: \"{{ env_var('DEMO_VERSION', '1.0') }}\"")
    )
    reasons, output = run_with_artifact(
        dbt_venv, project, written / "target" / "partial_parse.msgpack", "--target", "a"
    )
    assert "env vars used in dbt_project.yml have changed" in output
    assert [r.split(":")[0] for r in reasons] == [
        "project env vars hash differs",
        "dbt_project.yml of the root project 'demo' differs from the one the artifact was parsed with",
    ]


def test_unreadable_files_are_reported_not_raised(tmp_path, written, caplog):
    good = (written / "target" / "partial_parse.msgpack").read_bytes()
    for name, data in {"empty": b"", "truncated": good[: len(good) // 2], "garbage": b"\xc1" * 10}.items():
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(UnreadableParseState):
            read_parse_state(path)
    # a downloaded file that cannot be read: no explanation, a debug line, never an error
    target = tmp_path / "target"
    target.mkdir()
    (target / "partial_parse.msgpack").write_bytes(b"\x91\xc1")
    check = PartialParseCheck(target, tmp_path / "kept", logging.getLogger("test.partial_parse"))
    (target / "partial_parse.msgpack").write_bytes(good)
    with caplog.at_level(logging.DEBUG, logger="test.partial_parse"):
        assert check.explain(written_after=0) == []
    assert "Could not tell why dbt did not partially parse: UnreadableParseState" in caplog.text


def test_the_same_state_explains_nothing(written):
    state = read_parse_state(written / "target" / "partial_parse.msgpack")
    assert explain_full_reparse(state, state, target="a") == []
