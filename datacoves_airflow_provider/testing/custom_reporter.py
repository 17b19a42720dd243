"""pytest plugin: a markdown report of DAG checks, fit for a pull-request comment.

Loaded automatically through the ``pytest11`` entry point, or from a ``conftest.py`` as the
Datacoves docs do (both at once is fine: it registers once)::

    # orchestrate/test_dags/conftest.py
    from datacoves_airflow_provider.testing.custom_reporter import *

    $ pytest orchestrate/test_dags/validate_dags.py --output-file report.md

``--output-file PATH`` (or its namespaced twin ``--datacoves-output-file PATH``, which keeps working
when another plugin owns ``--output-file``) writes, whatever the outcome: a summary line, a table of
passed / failed / warned / skipped checks per DAG file, each failure with its message, and the
warnings and skips. A test's DAG file comes from its parameters (a DAG's ``fileloc``, a path
parameter, or anything with a ``dag_file`` attribute); a check's name is the test function's
name without ``test_``. Warnings are the ``UserWarning``s a test raises (``warnings.warn(...)``,
:class:`~datacoves_airflow_provider.testing.dag_validators.DagCheckWarning`); deprecation warnings
are left to pytest's own summary. The report itself is :mod:`.check_report`'s; this module is
the plugin's options and registration.

The plugin also declares the ini settings of the ready-made checks
(:mod:`datacoves_airflow_provider.testing.dag_check_settings`).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

import pytest

from datacoves_airflow_provider.testing.check_report import DagCheckReport
from datacoves_airflow_provider.testing.dag_check_settings import add_ini_options

__all__ = ["pytest_addoption", "pytest_configure"]

#: Where both options store the report path.
OUTPUT_FILE_DEST = "datacoves_output_file"
#: The name the report plugin object is registered under (once per session).
REPORTER_PLUGIN_NAME = "datacoves-dag-check-report"

_OPTION = "--datacoves-output-file"
_SHORT_OPTION = "--output-file"
_GROUP = "datacoves"


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    """Declare ``--datacoves-output-file``, ``--output-file`` and the DAG check ini settings, once.

    :param parser: pytest's command line and ini parser.
    :param pluginmanager: pytest's plugin manager.
    """
    group = parser.getgroup(_GROUP, "Datacoves DAG checks")
    try:
        group.addoption(
            _OPTION,
            dest=OUTPUT_FILE_DEST,
            metavar="PATH",
            default=None,
            help="write a markdown report of the DAG checks to PATH (also --output-file)",
        )
    except (ValueError, argparse.ArgumentError):
        return  # declared already: this module is both the entry-point plugin and a conftest import
    add_ini_options(parser)
    if not pluginmanager.is_registered(sys.modules[__name__]):
        # Imported into a conftest.py only: declare the short name now.
        _add_short_option(parser)
    # Otherwise this module is a plugin of its own (entry point or -p) and declares the short name in
    # pytest_load_initial_conftests, after every other plugin's options: a plugin that owns
    # --output-file keeps it, whichever order the plugins load in.


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser, args: list[str]
) -> None:
    """Declare ``--output-file`` unless another plugin declared it.

    :param early_config: pytest's configuration, before the command line is parsed.
    :param parser: pytest's command line and ini parser.
    :param args: the command line.
    """
    _add_short_option(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the report (once, however many times this module was loaded) when a path was given.

    :param config: pytest's configuration.
    """
    if config.pluginmanager.has_plugin(REPORTER_PLUGIN_NAME):
        return
    output = config.getoption(OUTPUT_FILE_DEST, default=None)
    if output is None and _short_option_given(config):
        config.issue_config_time_warning(
            pytest.PytestConfigWarning(
                f"{_SHORT_OPTION} belongs to another pytest plugin here, so the Datacoves DAG check report "
                f"is not written: use {_OPTION}"
            ),
            stacklevel=2,
        )
    if output is None:
        return
    path = Path(output)
    where = path if path.is_absolute() else Path(config.invocation_params.dir) / path
    if where.is_dir():
        raise pytest.UsageError(
            f"{_SHORT_OPTION} {output}: is a folder; give the report's file path, "
            f"e.g. {path / 'dag_report.md'}"
        )
    blocking = next((p for p in where.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise pytest.UsageError(
            f"{_SHORT_OPTION} {output}: {blocking} is a file, so the report cannot be written there"
        )
    config.pluginmanager.register(DagCheckReport(config, path), REPORTER_PLUGIN_NAME)


# --- helpers ---------------------------------------------------------------------------------------


def _add_short_option(parser: pytest.Parser) -> None:
    with contextlib.suppress(ValueError, argparse.ArgumentError):  # another plugin owns --output-file
        parser.getgroup(_GROUP).addoption(
            _SHORT_OPTION, dest=OUTPUT_FILE_DEST, metavar="PATH", default=None, help=f"same as {_OPTION}"
        )


def _short_option_given(config: pytest.Config) -> bool:
    args = [str(a) for a in config.invocation_params.args]
    return any(a == _SHORT_OPTION or a.startswith(_SHORT_OPTION + "=") for a in args)
