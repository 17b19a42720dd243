"""DAG load times and parse-time lookups, one fresh process per DAG file (the docs' ``test_dags.py``).

::

    datacoves-test-dags --dag-loadtime-threshold 1 --check-variable-usage --write-output --filename report.md
    python -m datacoves_airflow_provider.testing.dag_parse_check ...   # the same

For every file Airflow would parse in the DAGs folder (``--dags-folder``, default ``[core]
dags_folder``), a new process imports it through a DagBag and times it. On Linux that process is
forked from one that has already imported Airflow, as Airflow's DAG processor does, so the time is
the file's own; elsewhere (or with ``--isolation spawn``) it is a new interpreter per file.

With ``--check-variable-usage``, calls that reach the metadata database or the network while the
file is parsed are reported: found in the file's top-level code by static analysis, and seen while
the file was imported (which also catches a ``Variable.get`` at the top of a helper module the DAG
imports). Inside a task, or as ``{{ var.value.x }}`` in a templated field, they are fine.

Exit status: 0 when every file imported within the threshold (and, when checked, made no
parse-time calls), 1 otherwise, 2 for a usage error. The markdown report goes to standard output,
and to ``--filename`` with ``--write-output``.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from datacoves_airflow_provider.testing.dag_file_analysis import SourceFinding, parse_time_calls
from datacoves_airflow_provider.testing.dag_import_probe import (
    ProbeResult,
    RecordedCall,
    warm_up,
)
from datacoves_airflow_provider.testing.dag_loader import (
    add_to_sys_path,
    dag_file_paths,
    display_path,
    resolve_dags_folder,
)
from datacoves_airflow_provider.testing.dag_probe_isolation import _probe_in_fork, _probe_in_new_interpreter
from datacoves_airflow_provider.testing.markdown import code_block, table_cell

__all__ = ["FileReport", "ParseCheckOptions", "check_dags", "main", "render_markdown"]

DEFAULT_OUTPUT_FILE = "test_dags_output.md"
_KIND_LABELS = {
    "variable": "Variable",
    "connection": "Connection",
    "hook": "hook",
    "database": "metadata database",
    "network": "network",
}


@dataclass(frozen=True)
class ParseCheckOptions:
    """What to check.

    :param dags_folder: the DAGs folder (or one file).
    :param threshold: seconds a file may take to import; None reports times without judging them.
    :param check_calls: report parse-time Variable / Connection / database / network calls.
    :param timeout: seconds after which an import is stopped and reported.
    :param isolation: ``fork`` (a process forked per file from one that imported Airflow) or
        ``spawn`` (a new interpreter per file).
    """

    dags_folder: Path
    threshold: float | None = None
    check_calls: bool = False
    timeout: float = 120.0
    isolation: str = "fork"


@dataclass(frozen=True)
class ParseTimeCall:
    """A parse-time call, as found in the source, seen during the import, or both.

    :param location: ``path:line`` of the call (path relative to the current directory when inside it).
    :param call: e.g. ``Variable.get('target')``.
    :param kind: ``variable``, ``connection``, ``hook``, ``database`` or ``network``.
    :param seen_by: ``source``, ``import`` or ``source, import``.
    """

    location: str
    call: str
    kind: str
    seen_by: str


@dataclass
class FileReport:
    """The verdict on one DAG file.

    :param dag_file: the file, relative to the DAGs folder.
    :param probe: what importing it did.
    :param calls: its parse-time calls (empty unless they were checked).
    :param problems: short reasons it fails, empty when it passes.
    """

    dag_file: str
    probe: ProbeResult
    calls: list[ParseTimeCall] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def check_dags(options: ParseCheckOptions) -> list[FileReport]:
    """Import every DAG file in its own process and judge it; the reports come sorted by load time.

    :param options: what to check.
    """
    folder = options.dags_folder
    add_to_sys_path(folder)
    files = dag_file_paths(folder)
    if options.isolation == "fork" and files:
        warm_up()
    reports = []
    for path in files:
        if options.isolation == "fork":
            probe = _probe_in_fork(path, options.timeout)
        else:
            probe = _probe_in_new_interpreter(path, folder, options.timeout)
        report = FileReport(display_path(path, folder), probe)
        if probe.import_error:
            report.problems.append("import error")
        if (
            probe.load_time is not None
            and options.threshold is not None
            and probe.load_time > options.threshold
        ):
            report.problems.append(f"over {options.threshold:g} s")
        if options.check_calls:
            report.calls = _merge_calls(path, probe.calls)
            if report.calls:
                count = len(report.calls)
                report.problems.append(f"{count} parse-time call{'s' if count > 1 else ''}")
        reports.append(report)
    return sorted(reports, key=lambda r: (-(r.probe.load_time or 0.0), r.dag_file))


def render_markdown(reports: Sequence[FileReport], options: ParseCheckOptions, airflow_version: str) -> str:
    """The report as markdown fit for a pull-request comment.

    :param reports: the file reports, in the order to show them.
    :param options: what was checked.
    :param airflow_version: shown in the header.
    """
    failing = [r for r in reports if r.problems]
    icon = "❌" if failing else "✅"
    if failing:
        headline = f"{len(failing)} of {len(reports)} DAG files need attention"
    else:
        headline = f"all {len(reports)} DAG files passed"
    threshold = (
        f"load time threshold {options.threshold:g} s" if options.threshold is not None else "no threshold"
    )
    calls = "parse-time calls checked" if options.check_calls else "parse-time calls not checked"
    lines = [
        f"## {icon} DAG load times: {headline}",
        "",
        f"{threshold} · {calls} · Airflow {airflow_version}. Load time: one file imported through a "
        "DagBag in a fresh process, after Airflow's own start-up.",
        "",
        "| DAG file | load time (s) | DAGs | result |",
        "|---|---:|---:|---|",
    ]
    for report in reports:
        seconds = "—" if report.probe.load_time is None else f"{report.probe.load_time:.2f}"
        verdict = "❌ " + ", ".join(report.problems) if report.problems else "✅"
        lines.append(f"| `{report.dag_file}` | {seconds} | {len(report.probe.dag_ids)} | {verdict} |")
    with_calls = [r for r in reports if r.calls]
    if with_calls:
        lines += [
            "",
            "### Parse-time calls",
            "",
            "These run every time Airflow parses the file (every 30 s by default, on every scheduler and "
            "DAG processor). Move them into a task, or read Variables with `{{ var.value.<key> }}` in a "
            "templated field.",
            "",
            "| DAG file | where | call | found by |",
            "|---|---|---|---|",
        ]
        for report in with_calls:
            for call in report.calls:
                lines.append(
                    f"| `{report.dag_file}` | `{call.location}` | `{table_cell(call.call)}` "
                    f"({_KIND_LABELS.get(call.kind, call.kind)}) | {call.seen_by} |"
                )
    errors = [r for r in reports if r.probe.import_error]
    if errors:
        lines += ["", "### Import errors", ""]
        for report in errors:
            lines += [f"**`{report.dag_file}`**", "", *code_block(report.probe.import_error or ""), ""]
    return "\n".join(lines).rstrip() + "\n"


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Reject values argparse lets through (``nan``, negative seconds, a folder as the report file)
    the way argparse rejects a bad value: a usage line, the error, exit status 2.

    :param parser: the command's parser.
    :param args: the parsed arguments.
    """
    if args.timeout is not None and not (math.isfinite(args.timeout) and args.timeout > 0):
        parser.error(f"argument --timeout: must be a number of seconds > 0, not {args.timeout!r}")
    threshold = args.dag_loadtime_threshold
    if threshold is not None and not (math.isfinite(threshold) and threshold >= 0):
        parser.error(
            f"argument --dag-loadtime-threshold: must be a number of seconds >= 0, not {threshold!r}"
        )
    if args.write_output or args.filename:
        output = Path(args.filename or DEFAULT_OUTPUT_FILE)
        if output.is_dir():
            parser.error(
                f"argument --filename: {output} is a folder; give the report's file path, "
                f"e.g. {output / DEFAULT_OUTPUT_FILE}"
            )
        blocking = next((p for p in output.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            parser.error(f"argument --filename: {blocking} is a file, so {output} cannot be written")


def main(argv: Sequence[str] | None = None) -> int:
    """The ``datacoves-test-dags`` command.

    :param argv: command line arguments (default: ``sys.argv[1:]``).
    """
    parser = argparse.ArgumentParser(
        prog="datacoves-test-dags",
        description="Time each DAG file's import in a fresh process and find parse-time Variable, "
        "Connection, database and network calls.",
    )
    parser.add_argument("--dags-folder", help="DAGs folder or file (default: Airflow's [core] dags_folder)")
    parser.add_argument(
        "--dag-loadtime-threshold",
        type=float,
        metavar="SECONDS",
        help="fail files whose import takes longer than this",
    )
    parser.add_argument(
        "--check-variable-usage",
        action="store_true",
        help="fail files that read Variables or Connections, or reach the database or network, when parsed",
    )
    parser.add_argument("--write-output", action="store_true", help="write the markdown report to --filename")
    parser.add_argument(
        "--filename", help=f"markdown report file (implies --write-output; default {DEFAULT_OUTPUT_FILE})"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="seconds per file (default [core] dagbag_import_timeout + 30)",
    )
    parser.add_argument(
        "--isolation",
        choices=["fork", "spawn"],
        default="fork" if sys.platform == "linux" else "spawn",
        help="fork per file from a process that imported Airflow (Linux default), or start a new interpreter",
    )
    args = parser.parse_args(argv)
    check_arguments(parser, args)

    # Airflow logs each DagBag it fills at INFO, and warns about its own deprecations: the report is
    # the output here.
    os.environ.setdefault("AIRFLOW__LOGGING__LOGGING_LEVEL", "WARNING")
    if not sys.warnoptions:
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", FutureWarning)
    import airflow

    from datacoves_airflow_provider.compat import conf

    folder = resolve_dags_folder(args.dags_folder)
    if not folder.exists():
        parser.error(f"DAGs folder {folder} does not exist")
    timeout = args.timeout
    if timeout is None:
        timeout = conf.getfloat("core", "dagbag_import_timeout", fallback=30.0) + 30.0
    options = ParseCheckOptions(
        dags_folder=folder,
        threshold=args.dag_loadtime_threshold,
        check_calls=args.check_variable_usage,
        timeout=timeout,
        isolation=args.isolation,
    )
    reports = check_dags(options)
    markdown = render_markdown(reports, options, airflow.__version__)
    sys.stdout.write(markdown)
    if args.write_output or args.filename:
        output = Path(args.filename or DEFAULT_OUTPUT_FILE)
        try:
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_text(markdown, encoding="utf-8")
        except OSError as exc:
            parser.error(f"argument --filename: cannot write the report to {output}: {exc.strerror or exc}")
    return 1 if any(r.problems for r in reports) else 0


# --- findings --------------------------------------------------------------------------------------


def _merge_calls(path: Path, recorded: Sequence[RecordedCall]) -> list[ParseTimeCall]:
    """One row per call site: static findings in the DAG file and calls seen at import, merged."""
    try:
        found: list[SourceFinding] = parse_time_calls(path.read_text(encoding="utf-8"), str(path))
    except (SyntaxError, UnicodeDecodeError, OSError):
        found = []
    sites: dict[tuple[str, int], _CallSite] = {}
    for finding in found:
        sites[(str(path), finding.line)] = _CallSite(finding.code, finding.kind, {"source"})
    for call in recorded:
        key = (str(Path(call.filename).resolve()), call.line)
        sites.setdefault(key, _CallSite(f"{call.call}({call.detail})", call.kind, set())).seen_by.add(
            "import"
        )
    return [
        ParseTimeCall(
            location=f"{display_path(filename, None)}:{line}",
            call=site.call,
            kind=site.kind,
            seen_by=", ".join(by for by in ("source", "import") if by in site.seen_by),
        )
        for (filename, line), site in sorted(sites.items())
    ]


@dataclass
class _CallSite:
    call: str
    kind: str
    seen_by: set[str]


if __name__ == "__main__":
    raise SystemExit(main())
