"""The markdown report plugin (--output-file), run as pytest-in-pytest on a small synthetic suite.

No Airflow here: the suite's "DAGs" are stand-ins with a ``fileloc``, which is all the report reads.
Covers how the plugin gets loaded (the docs' ``import *`` in a conftest.py, the pytest11 entry point,
both at once, ``-p``, autoloading disabled, xdist) and living next to another plugin that owns
``--output-file``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from harness.dag_toolkit import clean_env, run

SUITE = """
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import pytest

DAGS_FOLDER = Path(os.environ["AIRFLOW__CORE__DAGS_FOLDER"])


@dataclass
class FakeDag:
    dag_id: str
    fileloc: str


DAGS = [FakeDag("a", str(DAGS_FOLDER / "a.py")), FakeDag("b", str(DAGS_FOLDER / "sub" / "b.py"))]


@pytest.mark.parametrize("dag", DAGS, ids=lambda d: d.dag_id)
def test_owner(dag):
    assert dag.dag_id != "b", f"{dag.dag_id} has no owner"


@pytest.mark.parametrize("dag", DAGS, ids=lambda d: d.dag_id)
def test_retries(dag):
    if dag.dag_id == "a":
        warnings.warn(f"{dag.dag_id} should retry 3 times", UserWarning)
    warnings.warn("a library is deprecated", DeprecationWarning)  # not a check's warning


# paths relative to AIRFLOW_HOME, as the docs' get_import_errors() makes them; None is its placeholder
@pytest.mark.parametrize("rel_path", [os.path.relpath(DAGS_FOLDER / "sub" / "b.py", os.environ["AIRFLOW_HOME"]), None])
def test_file_imports(rel_path):
    pass


@pytest.fixture
def broken_fixture():
    raise RuntimeError("the fixture broke")


@pytest.mark.parametrize("dag", DAGS[:1], ids=lambda d: d.dag_id)
def test_needs_fixture(dag, broken_fixture):
    pass


@pytest.mark.parametrize("dag", DAGS[1:], ids=lambda d: d.dag_id)
def test_task_types(dag):
    pytest.skip("datacoves_allowed_task_types is not set")


def test_general():
    pytest.fail("output:\\n```\\nboom | pipe\\n```")
"""

EXPECTED_REPORT = """\
## ❌ DAG checks: 2 failed, 4 passed, 1 warned, 1 skipped, 1 error

2 DAG files, 9 checks.

| DAG file | result | passed | failed | warned | skipped |
|---|:---:|---:|---|---|---:|
| `a.py` | ❌ | 1 | `needs_fixture` | `retries` |  |
| `sub/b.py` | ❌ | 2 | `owner` |  | 1 |
| other tests in `test_suite.py` | ❌ | 1 | `general` |  |  |

### Failures

**`a.py`** · `needs_fixture` (error)

```text
during setup: RuntimeError: the fixture broke
```

**`sub/b.py`** · `owner`

```text
b has no owner
assert 'b' != 'b'
 +  where 'b' = FakeDag(dag_id='b', fileloc='<tmp>/dags/sub/b.py').dag_id
```

**other tests in `test_suite.py`** · `general`

````text
output:
```
boom | pipe
```
````

### Warnings

- `a.py` · `retries`: a should retry 3 times

### Skipped

- `sub/b.py` · `task_types`: datacoves_allowed_task_types is not set
"""

DOCS_CONFTEST = "from datacoves_airflow_provider.testing.custom_reporter import *\n"

OTHER_PLUGIN = """
from pathlib import Path


def pytest_addoption(parser):
    parser.addoption("--output-file", dest="other_output_file", help="another plugin's option")


def pytest_configure(config):
    if config.getoption("other_output_file"):
        Path(config.getoption("other_output_file")).write_text("written by the other plugin")
"""


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "dags" / "sub").mkdir(parents=True)
    (tmp_path / "dags" / "a.py").write_text("")
    (tmp_path / "dags" / "sub" / "b.py").write_text("")
    (tmp_path / "home").mkdir()
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_suite.py").write_text(SUITE)
    (tmp_path / "tests" / "conftest.py").write_text(DOCS_CONFTEST)
    (tmp_path / "other_output_plugin.py").write_text(OTHER_PLUGIN)
    return tmp_path


def pytest_in(suite: Path, *args: str, **env: str):
    base = clean_env(
        AIRFLOW__CORE__DAGS_FOLDER=str(suite / "dags"),
        AIRFLOW_HOME=str(suite / "home"),
        PYTHONPATH=str(suite),
    )
    base.update(env)
    return run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "tests", *args], suite, base, timeout=120
    )


def assert_report(suite: Path, name: str = "report.md") -> None:
    report = (suite / name).read_text().replace(str(suite), "<tmp>")
    assert report == EXPECTED_REPORT


def test_report_with_the_docs_conftest_and_the_entry_point(suite: Path):
    """Both load the same hooks: one report, each outcome counted once."""
    result = pytest_in(suite, "--output-file", "report.md")
    assert result.returncode == 1, result.output
    assert (
        "2 failed, 5 passed, 1 skipped, 3 warnings, 1 error" in result.output
    )  # pytest: a warned check passed
    assert f"Datacoves DAG check report: {suite / 'report.md'}" in result.output
    assert_report(suite)


def test_namespaced_option(suite: Path):
    result = pytest_in(suite, f"--datacoves-output-file={suite / 'out' / 'report.md'}")
    assert result.returncode == 1, result.output
    assert_report(suite, "out/report.md")


def test_conftest_alone_when_plugin_autoloading_is_disabled(suite: Path):
    result = pytest_in(suite, "--output-file", "report.md", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 1, result.output
    assert_report(suite)


def test_entry_point_alone(suite: Path):
    (suite / "tests" / "conftest.py").unlink()
    result = pytest_in(suite, "--output-file", "report.md")
    assert result.returncode == 1, result.output
    assert_report(suite)


def test_explicit_p_option_next_to_the_entry_point(suite: Path):
    result = pytest_in(
        suite, "-p", "datacoves_airflow_provider.testing.custom_reporter", "--output-file", "report.md"
    )
    assert result.returncode == 1, result.output
    assert_report(suite)


def test_under_xdist_the_controller_writes_one_report(suite: Path):
    import xdist  # noqa: F401  (the dev environment has it: scripts/test.sh runs with -n 2)

    result = pytest_in(suite, "-n", "2", "--output-file", "report.md")
    assert result.returncode == 1, result.output
    assert_report(suite)


@pytest.mark.parametrize(
    ("how", "extra_env"),
    [
        (["-p", "other_output_plugin"], {}),  # registered before ours
        ([], {"PYTEST_PLUGINS": "other_output_plugin"}),  # registered after ours (and before conftests)
    ],
    ids=["other-plugin-first", "other-plugin-last"],
)
def test_another_plugin_owning_output_file(suite: Path, how: list[str], extra_env: dict[str, str]):
    """Whichever loads first, pytest starts, the other plugin keeps --output-file, ours its long name."""
    result = pytest_in(
        suite, *how, "--output-file", "theirs.md", "--datacoves-output-file", "report.md", **extra_env
    )
    assert result.returncode == 1, result.output
    assert (suite / "theirs.md").read_text() == "written by the other plugin"
    assert_report(suite)
    assert "--output-file belongs to another pytest plugin here" not in result.output

    result = pytest_in(suite, *how, "--output-file", "theirs.md", **extra_env)
    assert result.returncode == 1, result.output
    assert "--output-file belongs to another pytest plugin here" in result.output
    assert "use --datacoves-output-file" in result.output


def test_report_is_written_when_collection_fails(suite: Path):
    (suite / "tests" / "test_broken.py").write_text(
        "raise TypeError(\"DagBag.__init__() got an unexpected keyword argument 'include_examples'\")\n"
    )
    result = pytest_in(suite, "--output-file", "report.md")
    assert result.returncode == 2, result.output
    report = (suite / "report.md").read_text()
    assert report.startswith("## ❌ DAG checks: no checks ran, 1 error\n")
    assert "### Errors while collecting the checks\n\n**`tests/test_broken.py`**" in report
    assert "TypeError: DagBag.__init__() got an unexpected keyword argument 'include_examples'" in report
    assert "datacoves_airflow_provider.testing.dag_loader.load_dag_bag()" in report  # the hint


def test_without_the_option_nothing_is_written(suite: Path):
    result = pytest_in(suite)
    assert result.returncode == 1, result.output
    assert not (suite / "report.md").exists()
    assert "Datacoves DAG check report" not in result.output


def test_help_lists_the_options_and_settings(suite: Path):
    result = pytest_in(suite, "--help")
    assert result.returncode == 0, result.output
    help_text = " ".join(result.output.split())
    assert "--datacoves-output-file=PATH" in help_text
    assert "--output-file=PATH same as --datacoves-output-file" in help_text
    for name in (
        "datacoves_dags_folder",
        "datacoves_approved_tags",
        "datacoves_allowed_task_types",
        "datacoves_skip_checks",
    ):
        assert name in help_text


def test_conftest_import_exports_only_hooks():
    from datacoves_airflow_provider.testing import custom_reporter

    namespace: dict[str, object] = {}
    exec(textwrap.dedent(DOCS_CONFTEST), namespace)
    assert sorted(k for k in namespace if not k.startswith("__")) == ["pytest_addoption", "pytest_configure"]
    assert namespace["pytest_configure"] is custom_reporter.pytest_configure
