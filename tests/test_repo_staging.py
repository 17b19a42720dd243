"""Repository staging on real folders: what is copied, shared and left out, and cleanup."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from harness.repos import build_sample_repo, tree_fingerprint

from datacoves_airflow_provider.staging.repository import (
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


# --- git worktrees (git-sync's layout) -----------------------------------------------------------

GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@e", "-c", "commit.gpgsign=false"]


def git_out(cwd: Path, *args: str) -> str:
    """Output of a read-only git command that never refreshes the index (``--no-optional-locks``)."""
    return subprocess.run(
        [*GIT, "--no-optional-locks", *args], cwd=cwd, capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture
def git_sync_checkout(tmp_path: Path) -> tuple[Path, Path]:
    """git-sync's layout: the repository in ``<root>/.git``, the checkout a linked worktree in
    ``<root>/.worktrees/<sha>``, reached through the link ``<root>/repo -> .worktrees/<sha>``.
    Returns (the link, the root)."""
    root = tmp_path / "git-sync"
    build_sample_repo(root / "origin")
    subprocess.run(["git", "clone", "-q", str(root / "origin"), str(root / "main")], check=True)
    main = root / "main"
    sha = git_out(main, "rev-parse", "HEAD").strip()
    subprocess.run(
        [*GIT, "worktree", "add", "-q", "--detach", f".worktrees/{sha}", sha], cwd=main, check=True
    )
    (main / "repo").symlink_to(f".worktrees/{sha}")
    checkout = main / "repo"
    assert (checkout / ".git").is_file()
    (checkout / "untracked.txt").write_text("not in git\n")
    git_out(checkout, "status")  # as git-sync leaves it: nothing pending
    return checkout, main


GIT_SCRIPT = """
set -e
git() { command git -c user.name=t -c user.email=t@e -c commit.gpgsign=false "$@"; }
test -d .git
git status --short > /dev/null
echo changed >> README.md
git add -A
git commit -qm 'commit in the copy'
git checkout -qb feature
echo more >> README.md
git stash -q
git stash pop -q
git commit -qam 'second commit'
git tag v-copy
git branch -f main HEAD 2>/dev/null || git branch -f other HEAD
git config user.name changed
git gc -q --prune=now
git worktree prune
git worktree repair || true
git reset -q --hard HEAD~2
git log --oneline | wc -l
"""


def test_worktree_checkout_through_a_link_is_never_modified(
    git_sync_checkout: tuple[Path, Path], tmp_path: Path
):
    checkout, main = git_sync_checkout
    worktree_gitdir = main / ".git" / "worktrees"
    assert worktree_gitdir.is_dir()
    before = tree_fingerprint(main)  # the worktree, the main repository's .git incl. worktrees/<name>
    status, head = git_out(checkout, "status", "--porcelain"), git_out(checkout, "rev-parse", "HEAD")
    with stage_repository(checkout, base_dir=tmp_path / "stage") as staged:
        copy = staged.repo
        # the copy's git folder is its own, objects shared read-only through alternates
        assert (copy / ".git").is_dir() and not (copy / ".git").is_symlink()
        assert not (copy / ".git" / "worktrees").exists() and not (copy / ".git" / "commondir").exists()
        alternates = (copy / ".git" / "objects" / "info" / "alternates").read_text().strip()
        assert alternates == str((main / ".git" / "objects").resolve())
        assert git_out(copy, "rev-parse", "--git-dir").strip() == ".git"
        assert git_out(copy, "status", "--porcelain") == status
        assert git_out(copy, "rev-parse", "HEAD") == head
        proc = subprocess.run(["bash", "-c", GIT_SCRIPT], cwd=copy, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert git_out(copy, "rev-parse", "HEAD") == head
        assert git_out(copy, "tag", "-l") == "v-copy\n"
    assert not staged.root.exists()
    assert tree_fingerprint(main) == before
    assert git_out(checkout, "status", "--porcelain") == status
    assert git_out(checkout, "rev-parse", "HEAD") == head
    assert git_out(checkout, "tag", "-l") == ""


def test_worktree_git_folder_without_shared_objects(git_sync_checkout: tuple[Path, Path], tmp_path: Path):
    checkout, main = git_sync_checkout
    subprocess.run([*GIT, "config", "core.bare", "true"], cwd=main, check=True)  # linked worktrees ignore it
    before = tree_fingerprint(main)
    with stage_repository(checkout, policy=StagingPolicy.full_copy(), base_dir=tmp_path) as staged:
        assert git_out(staged.repo, "rev-parse", "--is-bare-repository").strip() == "false"
        assert not (staged.repo / ".git" / "objects" / "info" / "alternates").exists()
        proc = subprocess.run(["bash", "-c", GIT_SCRIPT], cwd=staged.repo, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert tree_fingerprint(main) == before


def test_plain_clone_copy_has_no_links_to_the_source_git_folder(repo: Path, tmp_path: Path):
    subprocess.run([*GIT, "config", "core.worktree", str(repo)], cwd=repo, check=True)
    subprocess.run([*GIT, "worktree", "add", "-q", "--detach", str(tmp_path / "other")], cwd=repo, check=True)
    before = tree_fingerprint(repo)
    other_before = tree_fingerprint(tmp_path / "other")
    with stage_repository(repo, base_dir=tmp_path / "stage") as staged:
        assert not (staged.repo / ".git" / "worktrees").exists()
        assert git_out(staged.repo, "rev-parse", "--show-toplevel").strip() == str(staged.repo)
        proc = subprocess.run(["bash", "-c", GIT_SCRIPT], cwd=staged.repo, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
    assert tree_fingerprint(repo) == before
    assert tree_fingerprint(tmp_path / "other") == other_before


# --- the staging base folder and the stale-folder sweep ------------------------------------------

NOBODY = 65534


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def stage_prefix(repo: Path, base: Path) -> str:
    with stage_repository(repo, base_dir=base) as staged:
        return staged.root.name.rsplit("-", 2)[0]  # datacoves-stage-<pidns>


def test_sweep_leaves_links_and_other_users_folders_alone(
    repo: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
):
    base = tmp_path / "shared-tmp"
    base.mkdir()
    base.chmod(0o1777)  # as /tmp
    prefix = stage_prefix(repo, base)
    pid = dead_pid()
    victim = tmp_path / "victim"
    (victim / "inner").mkdir(parents=True)
    (victim / "inner" / "data.txt").write_text("keep me")
    victim.chmod(0o755)
    link = base / f"{prefix}-{pid}-x"
    link.symlink_to(victim)
    dangling = base / f"{prefix}-{pid}-y"
    dangling.symlink_to(tmp_path / "nowhere")
    foreign = base / f"{prefix}-{pid}-z"
    (foreign / "repo").mkdir(parents=True)
    os.chown(foreign, NOBODY, NOBODY)
    a_file = base / f"{prefix}-{pid}-w"
    a_file.write_text("a file")
    ours = base / f"{prefix}-{pid}-v"
    (ours / "repo").mkdir(parents=True)
    (ours / "repo" / "locked").mkdir(mode=0o500)
    victim_before = tree_fingerprint(victim)
    with caplog.at_level("INFO"), stage_repository(repo, base_dir=base):
        pass
    assert stat.S_IMODE(base.lstat().st_mode) == 0o1777  # the base folder's mode is never changed
    assert stat.S_IMODE(victim.lstat().st_mode) == 0o755
    assert link.is_symlink() and dangling.is_symlink() and a_file.is_file()
    assert (foreign / "repo").is_dir()
    assert tree_fingerprint(victim) == victim_before
    assert not ours.exists()  # a real folder of ours is still swept
    text = caplog.text
    assert f"Not removing {link}: it is named like a staging folder but is not a folder" in text
    assert f"Not removing {foreign}: it is named like a staging folder but is owned by uid {NOBODY}" in text


def stage_once(repo: Path, base: Path | str) -> None:
    with stage_repository(repo, base_dir=base):
        pass


def test_staging_base_must_be_safe(repo: Path, tmp_path: Path):
    other = tmp_path / "others"
    other.mkdir()
    os.chown(other, NOBODY, NOBODY)
    expected = r"owned by uid 65534, not by the worker's user .*\[datacoves\] staging_dir"
    with pytest.raises(StagingError, match=expected):
        stage_once(repo, other)
    open_base = tmp_path / "open"
    open_base.mkdir()
    open_base.chmod(0o777)
    with pytest.raises(StagingError, match="writable by other users without the sticky bit"):
        stage_once(repo, open_base)
    inside_open = open_base / "mine"
    inside_open.mkdir(mode=0o700)
    with pytest.raises(StagingError, match=f"is inside {str(open_base)!r}, which is writable by other users"):
        stage_once(repo, inside_open)
    expected = r"AIRFLOW__DATACOVES__STAGING_DIR\) is 'relative/stage', a relative path"
    with pytest.raises(StagingError, match=expected):
        stage_once(repo, "relative/stage")
    # sticky and world-writable (like /tmp), or owned by the worker: fine; a link to one is resolved
    open_base.chmod(0o1777)
    (tmp_path / "link").symlink_to(open_base)
    with stage_repository(repo, base_dir=tmp_path / "link") as staged:
        assert staged.root.parent == open_base
    with stage_repository(repo, base_dir=tmp_path / "new" / "base") as staged:
        assert staged.root.parent == tmp_path / "new" / "base"
    with stage_repository(repo) as staged:  # the system temp folder
        assert staged.root.parent == Path(tempfile.gettempdir()).resolve()


def test_unwritable_staging_base_is_a_clear_error(repo: Path, tmp_path: Path):
    """Run without root's capabilities (the tests run as root, which can write anywhere)."""
    base = tmp_path / "read-only"
    base.mkdir(mode=0o555)
    missing = base / "sub" / "stage"
    code = (
        "import sys\n"
        "from datacoves_airflow_provider.staging.repository import stage_repository, StagingError\n"
        "for base in sys.argv[2:]:\n"
        "    try:\n"
        "        with stage_repository(sys.argv[1], base_dir=base): pass\n"
        "    except StagingError as exc: print(exc)\n"
    )
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("needs setpriv (util-linux) to drop root's capabilities")
    argv = [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--", sys.executable, "-c", code]
    proc = subprocess.run([*argv, str(repo), str(base), str(missing)], capture_output=True, text=True)
    assert "Traceback" not in proc.stderr, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 2, proc.stdout + proc.stderr
    assert f"The staging base folder {str(base)!r} is not writable by the worker's user" in lines[0]
    assert f"Cannot create the staging base folder {str(missing)!r} (Permission denied)" in lines[1]
    assert all("[datacoves] staging_dir (AIRFLOW__DATACOVES__STAGING_DIR)" in line for line in lines)


# --- odd names and special files ------------------------------------------------------------------


def git_bytes(cwd: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*GIT, "--no-optional-locks", *args], cwd=cwd, capture_output=True)


def test_non_utf8_names_are_copied_shared_and_excluded(repo: Path, tmp_path: Path):
    raw = os.fsencode(repo)
    for name in (b"data/caf\xe9/na\xefve", b"data/keep\xff"):
        os.makedirs(raw + b"/" + name)
    files = {
        b"data/caf\xe9/na\xefve/f\xe9.txt": "shared",
        b"data/keep\xff/odd [*?] #!.txt": "shared file",
        b"data/keep\xff/odd x.txt": "copied",
        b"data/gone\xe9.csv": "left out",
    }
    for name, text in files.items():
        with open(raw + b"/" + name, "w") as fh:
            fh.write(text)
    with open(raw + b"/.gitignore", "ab") as fh:  # the shared folder is ignored, as virtualenvs are
        fh.write(b"data/caf*/\n")
    subprocess.run([*GIT, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*GIT, "commit", "-qm", "odd names"], cwd=repo, check=True)
    status = git_bytes(repo, "status", "--porcelain", "-z").stdout
    policy = StagingPolicy(
        share=[b"data/caf\xe9", "data/keep\udcff/odd [[]*"], exclude=[b"data/gone\xe9.csv"]
    )
    with stage_repository(repo, policy=policy, base_dir=tmp_path / "stage") as staged:
        copy = os.fsencode(staged.repo)
        assert os.readlink(copy + b"/data/caf\xe9") == raw + b"/data/caf\xe9"
        assert os.path.islink(copy + b"/data/keep\xff/odd [*?] #!.txt")
        with open(copy + b"/data/keep\xff/odd x.txt") as fh:
            assert fh.read() == "copied"
        assert not os.path.lexists(copy + b"/data/gone\xe9.csv")
        with open(copy + b"/.git/info/exclude", "rb") as fh:
            exclude = fh.read()
        assert b"\n/data/caf\xe9\n" in exclude
        # the shared folder reads to git as the ignored folder did; the excluded file is deleted and
        # the shared (tracked) file a link
        expected = status + b" D data/gone\xe9.csv\0 T data/keep\xff/odd [*?] #!.txt\0"
        assert git_bytes(staged.repo, "status", "--porcelain", "-z").stdout == expected
        # the exclude line of an odd name matches that name only
        check = ["check-ignore", "--no-index", "-q"]
        assert git_bytes(staged.repo, *check, b"data/keep\xff/odd [*?] #!.txt").returncode == 0
        assert git_bytes(staged.repo, *check, b"data/keep\xff/odd x.txt").returncode == 1
    with stage_repository(repo, policy=StagingPolicy.full_copy(), base_dir=tmp_path / "stage") as staged:
        copied = os.fsencode(staged.repo) + b"/data/caf\xe9/na\xefve/f\xe9.txt"
        assert not os.path.islink(os.path.dirname(os.path.dirname(copied)))
        assert Path(os.fsdecode(copied)).read_text() == "shared"


def test_links_out_of_the_repository_and_special_files_are_copied_as_they_are(repo: Path, tmp_path: Path):
    (repo / "passwd").symlink_to("/etc/passwd")
    os.mkfifo(repo / "a_fifo")
    (repo / "new\nline name.txt").write_text("odd")
    with stage_repository(repo, base_dir=tmp_path / "stage") as staged:
        assert os.readlink(staged.repo / "passwd") == "/etc/passwd"
        assert stat.S_ISFIFO((staged.repo / "a_fifo").lstat().st_mode)
        assert (staged.repo / "new\nline name.txt").read_text() == "odd"
        assert stat.S_IMODE(staged.root.stat().st_mode) == 0o700


# --- through the operator, as the task runner calls it ----------------------------------------------


def run_task(monkeypatch: pytest.MonkeyPatch, repo: Path, base: Path, command: str, **kwargs: object) -> str:
    """``DatacovesBashOperator.execute`` (as the task runner calls it), returning its XCom."""
    from datacoves_airflow_provider.operators.bash import DatacovesBashOperator

    monkeypatch.delenv("DATACOVES__REPO_PATH_RO", raising=False)
    monkeypatch.setenv("DATACOVES__REPO_PATH", str(repo))
    monkeypatch.setenv("AIRFLOW__DATACOVES__STAGING_DIR", str(base))
    monkeypatch.setenv("AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV", str(base / "no_virtualenv"))
    task = DatacovesBashOperator(task_id="t", bash_command=command, append_env=True, env={}, **kwargs)
    return task.execute({})


def test_git_in_a_task_leaves_a_worktree_checkout_untouched(
    git_sync_checkout: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    checkout, main = git_sync_checkout
    before = tree_fingerprint(main)
    status, head = git_out(checkout, "status", "--porcelain"), git_out(checkout, "rev-parse", "HEAD")
    assert run_task(monkeypatch, checkout, tmp_path / "stage", GIT_SCRIPT).strip() == "1"
    assert tree_fingerprint(main) == before
    assert git_out(checkout, "status", "--porcelain") == status
    assert git_out(checkout, "rev-parse", "HEAD") == head


def test_cwd_through_a_link_inside_the_repository(
    repo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    (repo / "scripts").symlink_to("orchestrate/utils")
    pwd = run_task(monkeypatch, repo, tmp_path / "stage", "pwd -P", cwd="scripts")
    assert pwd.endswith("/repo/orchestrate/utils") and "datacoves-stage" in pwd


# --- the repository source and its roots (DATACOVES__REPO_PATH_RO / DATACOVES__REPO_PATH) ----------


def test_read_only_clone_is_the_source_when_set(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    from datacoves_airflow_provider.environment import repository_source

    clone, checkout = tmp_path / "clone", tmp_path / "checkout"
    clone.mkdir()
    checkout.mkdir()
    monkeypatch.setenv("DATACOVES__REPO_PATH", str(checkout))
    monkeypatch.setenv("DATACOVES__REPO_PATH_RO", "  ")  # blank counts as unset
    source = repository_source()
    assert (source.path, source.variable) == (str(checkout), "DATACOVES__REPO_PATH")
    monkeypatch.setenv("DATACOVES__REPO_PATH_RO", str(clone))
    monkeypatch.setenv("DATACOVES__REPO_PATH", str(tmp_path / "airflow_repo"))  # need not exist
    source = repository_source()
    assert (source.path, source.variable) == (str(clone), "DATACOVES__REPO_PATH_RO")
    assert not (tmp_path / "airflow_repo").exists()


def test_paths_resolve_against_whichever_root_holds_them(tmp_path: Path):
    from datacoves_airflow_provider.environment import RepositorySource

    worktree = tmp_path / "dags" / ".worktrees" / "abc"
    (worktree / "transform").mkdir(parents=True)
    (tmp_path / "dags" / "repo").symlink_to(".worktrees/abc")
    source = RepositorySource(
        path=str(tmp_path / "dags" / "repo"),
        variable="DATACOVES__REPO_PATH_RO",
        read_only_clone=str(tmp_path / "dags" / "repo"),
        read_write_path="/tmp/airflow_repo",
    )
    assert source.relative_path(f"{tmp_path}/dags/repo/transform") == "transform"
    assert source.relative_path(f"{worktree}/transform") == "transform"  # through the link
    assert source.relative_path("/tmp/airflow_repo/transform/") == "transform"
    assert source.relative_path("/tmp/airflow_repo") == "."
    assert source.relative_path("transform/../transform") == "transform"
    assert source.relative_path("../elsewhere") is None
    assert source.relative_path("/tmp/airflow_repository/transform") is None  # a prefix is not a folder
    assert source.relative_path("/opt/elsewhere/transform") is None
    nested = RepositorySource(
        path="/x/ro", variable="DATACOVES__REPO_PATH_RO", read_only_clone="/x/ro", read_write_path="/x"
    )
    assert nested.relative_path("/x/ro/transform") == "transform"  # the deepest root
    assert nested.relative_path("/x/transform") == "transform"


def test_platform_variables_name_the_copy_in_the_command(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    """Through the operator, as the task runner calls it: DATACOVES__REPO_PATH is the copy,
    DATACOVES__DBT_HOME / DBT_PROFILES_DIR / PYTHONPATH entries inside the clone name the copy, a
    value the author gave wins unless it repeats the worker's, and the worker is unchanged."""
    from datacoves_airflow_provider.operators.bash import DatacovesBashOperator

    clone = build_sample_repo(tmp_path / "clone")
    (clone / "automate" / "dbt").mkdir(parents=True)
    platform = {
        "DATACOVES__REPO_PATH_RO": str(clone),
        "DATACOVES__REPO_PATH": str(tmp_path / "airflow_repo"),
        "DATACOVES__DBT_HOME": str(clone / "transform"),
        "DBT_PROFILES_DIR": str(clone / "automate" / "dbt"),
        "PYTHONPATH": os.pathsep.join([str(clone), str(clone / "orchestrate"), "/opt/libs"]),
    }
    for name, value in platform.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW__DATACOVES__STAGING_DIR", str(tmp_path / "stage"))
    monkeypatch.setenv("AIRFLOW__DATACOVES__DEFAULT_VIRTUALENV", str(tmp_path / "no_virtualenv"))
    show = (
        'printf "%s|%s|%s|%s|%s|%s" "$(pwd)" "$DATACOVES__REPO_PATH" "$DATACOVES__REPO_PATH_RO" '
        '"$DATACOVES__DBT_HOME" "$DBT_PROFILES_DIR" "$PYTHONPATH"'
    )

    def run(**kwargs: object) -> list[str]:
        return DatacovesBashOperator(task_id="t", bash_command=show, **kwargs).execute({}).split("|")

    pwd, repo_path, read_only, dbt_home, profiles, pythonpath = run()
    assert repo_path == pwd and "datacoves-stage" in pwd
    assert read_only == str(clone)
    assert (dbt_home, profiles) == (f"{pwd}/transform", f"{pwd}/automate/dbt")
    assert pythonpath.split(os.pathsep) == [pwd, f"{pwd}/orchestrate", "/opt/libs"]
    # the author's own values win; one that repeats the worker's is the worker's
    pwd, repo_path, _, dbt_home, profiles, pythonpath = run(
        env={
            "DATACOVES__REPO_PATH": "/mine",
            "DATACOVES__DBT_HOME": platform["DATACOVES__DBT_HOME"],
            "DBT_PROFILES_DIR": str(clone / "automate"),
            "PYTHONPATH": str(clone),
        },
        append_env=True,
    )
    assert (repo_path, dbt_home, profiles) == ("/mine", f"{pwd}/transform", str(clone / "automate"))
    assert pythonpath.split(os.pathsep) == [pwd, str(clone)]
    # env without append_env replaces the worker's environment: nothing of it comes back
    pwd, repo_path, read_only, dbt_home, profiles, pythonpath = run(env={"X": "1"})
    assert (repo_path, read_only, dbt_home, profiles, pythonpath) == ("", "", "", "", pwd)
    assert {name: os.environ[name] for name in platform} == platform
    assert not (tmp_path / "airflow_repo").exists()
