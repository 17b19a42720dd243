"""What a DAG file does when Airflow parses it, read from its source with :mod:`ast` (never imported).

Three questions, each answered with the lines that matter:

* :func:`parse_time_calls`: calls that reach the metadata database or the network while the file
  is *parsed* (``Variable.get``, ``BaseHook.get_connection``, ``requests.get``, a hook created at the
  top level, ...). Parse-time code is the module's top level, class bodies, decorators and default
  values, the bodies of ``@dag`` / ``@task_group`` functions, and module functions those call;
  ``@task`` callables, lambdas, functions only handed to operators, and Jinja strings such as
  ``"{{ var.value.x }}"`` run when a task runs, so they are fine.
* :func:`dynamic_start_dates`: ``start_date`` values computed from the clock
  (``datetime.now()``, ``days_ago(1)``, ``pendulum.today()``, ...), directly or through a module-level
  name.
* :func:`schedule_interval_uses`: the ``schedule_interval`` argument, removed in Airflow 3.

Static analysis sees only this file; a lookup hidden in a helper module the DAG imports is found by
:mod:`datacoves_airflow_provider.testing.dag_import_probe`, which watches the import itself.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "SourceFinding",
    "classify_call",
    "dynamic_start_dates",
    "parse_time_calls",
    "schedule_interval_uses",
]

_VARIABLE_METHODS = frozenset(
    {"get", "set", "setdefault", "update", "delete", "get_variable_from_secrets", "check_for_write_conflict"}
)
_CONNECTION_METHODS = frozenset({"get", "get_connection_from_secrets", "get_hook"})
_HOOK_CONNECTION_METHODS = frozenset({"get_connection", "get_hook"})
_ORM_MODELS = frozenset({"DagRun", "DagModel", "TaskInstance", "XCom", "Pool", "SerializedDagModel", "Log"})
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "delete", "head", "options", "request", "stream"})
_NETWORK_CALLS = frozenset(
    {
        "urllib.request.urlopen",
        "socket.create_connection",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "boto3.client",
        "boto3.resource",
        "snowflake.connector.connect",
        "psycopg2.connect",
        "psycopg.connect",
        "pymysql.connect",
        "redshift_connector.connect",
        "databricks.sql.connect",
    }
)
_CLOCK_CALLS = (
    "datetime.now",
    "datetime.utcnow",
    "datetime.today",
    "date.today",
    "DateTime.now",
    "DateTime.utcnow",
    "DateTime.today",
    "pendulum.now",
    "pendulum.today",
    "pendulum.yesterday",
    "pendulum.tomorrow",
    "timezone.utcnow",
    "timezone.now",
    "days_ago",
    "time.time",
    "Timestamp.now",
    "Timestamp.utcnow",
    "Timestamp.today",
    "arrow.now",
    "arrow.utcnow",
)
_RUNS_AS_TASK = frozenset({"task", "setup", "teardown", "asset"})


@dataclass(frozen=True)
class SourceFinding:
    """One place in a DAG file's source that a check cares about.

    :param line: 1-based line number.
    :param call: the callable or argument as written, e.g. ``Variable.get`` or ``schedule_interval``.
    :param kind: ``variable``, ``connection``, ``hook``, ``database``, ``network``, ``start_date`` or
        ``schedule_interval``.
    :param code: the source of the expression, on one line and shortened.
    :param detail: more context, e.g. where a start date's clock call is.
    """

    line: int
    call: str
    kind: str
    code: str
    detail: str = ""


def classify_call(qualified_name: str) -> str | None:
    """The kind of parse-time cost a call has, or None when it has none worth flagging.

    :param qualified_name: the dotted name of the callable, with imports resolved
        (``airflow.models.Variable.get``) or as written when the name was not imported.
    """
    parts = qualified_name.split(".")
    last = parts[-1]
    owner = parts[-2] if len(parts) > 1 else ""
    if owner == "Variable" and last in _VARIABLE_METHODS:
        return "variable"
    if owner == "Connection" and last in _CONNECTION_METHODS:
        return "connection"
    if owner.endswith("Hook") and last in _HOOK_CONNECTION_METHODS:
        return "connection"
    if last.endswith("Hook") and last[:1].isupper():
        return "hook"
    if owner in _ORM_MODELS and not last.startswith("_"):
        return "database"
    if qualified_name.endswith(("settings.Session", "create_session")):
        return "database"
    if parts[0] in {"requests", "httpx"} and last in _HTTP_VERBS:
        return "network"
    if qualified_name in _NETWORK_CALLS:
        return "network"
    return None


def parse_time_calls(source: str, filename: str = "<dag file>") -> list[SourceFinding]:
    """Calls in ``source`` that hit the metadata database or the network when the file is parsed.

    :param source: the DAG file's text.
    :param filename: used in syntax error messages.
    :raises SyntaxError: when the source does not parse.
    """
    tree = ast.parse(source, filename)
    walker = _ParseTimeWalker(tree, source)
    walker.visit_block(tree.body)
    return sorted(set(walker.findings), key=lambda f: (f.line, f.call))


def dynamic_start_dates(source: str, filename: str = "<dag file>") -> list[SourceFinding]:
    """``start_date`` values in ``source`` that are computed from the clock when the file is parsed.

    Looks at ``start_date=...`` arguments, ``"start_date": ...`` dictionary entries and
    ``x["start_date"] = ...`` assignments, following names assigned at module level.

    :param source: the DAG file's text.
    :param filename: used in syntax error messages.
    :raises SyntaxError: when the source does not parse.
    """
    tree = ast.parse(source, filename)
    aliases = _import_aliases(tree)
    module_values: dict[str, list[ast.expr]] = {}
    for stmt in tree.body:
        for target, value in _assignments(stmt):
            if isinstance(target, ast.Name):
                module_values.setdefault(target.id, []).append(value)
    findings = []
    for line, code, value in _start_date_bindings(tree, source):
        clock = _clock_call(value, aliases, module_values, depth=0, seen=set())
        if clock is not None:
            name, clock_line = clock
            findings.append(SourceFinding(line, name, "start_date", code, f"{name}() at line {clock_line}"))
    return sorted(set(findings), key=lambda f: f.line)


def schedule_interval_uses(source: str, filename: str = "<dag file>") -> list[SourceFinding]:
    """Places where ``source`` passes ``schedule_interval`` (Airflow 3 accepts only ``schedule``).

    :param source: the DAG file's text.
    :param filename: used in syntax error messages.
    :raises SyntaxError: when the source does not parse.
    """
    tree = ast.parse(source, filename)
    findings = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            for keyword in node.keywords:
                if keyword.arg == "schedule_interval":
                    findings.append(
                        SourceFinding(
                            node.lineno, "schedule_interval", "schedule_interval", _code(source, node)
                        )
                    )
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "schedule_interval":
                    code = f"{_code(source, key)}: {_code(source, value)}"
                    findings.append(SourceFinding(key.lineno, "schedule_interval", "schedule_interval", code))
    return sorted(set(findings), key=lambda f: f.line)


# --- helpers ---------------------------------------------------------------------------------------


def _import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> the dotted name it was imported as, for every import in the file."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    aliases[alias.asname] = alias.name
                else:
                    head = alias.name.split(".")[0]
                    aliases[head] = head
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            for alias in node.names:
                if alias.name != "*":
                    aliases[alias.asname or alias.name] = f"{module}.{alias.name}".lstrip(".")
    return aliases


def _dotted(node: ast.expr) -> list[str] | None:
    """``a.b.c`` -> ["a", "b", "c"]; None for anything that is not a plain dotted name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return parts[::-1]


def _qualified(node: ast.expr, aliases: dict[str, str]) -> str | None:
    parts = _dotted(node)
    if parts is None:
        return None
    head = aliases.get(parts[0], parts[0])
    return ".".join([head, *parts[1:]])


def _decorator_parts(decorator: ast.expr) -> list[str]:
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return _dotted(target) or []


def _runs_when_defined(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@dag`` and ``@task_group`` bodies run when the decorated function is called at parse time."""
    return any(_decorator_parts(d)[-1:] in (["dag"], ["task_group"]) for d in function.decorator_list)


def _runs_as_task(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """``@task``, ``@task.<anything>`` (``@task.datacoves_dbt``, ...): the body runs in the task."""
    for decorator in function.decorator_list:
        parts = _decorator_parts(decorator)
        if parts and parts[-1] != "task_group" and _RUNS_AS_TASK & set(parts):
            return True
    return False


def _is_main_or_type_checking_guard(test: ast.expr) -> bool:
    if isinstance(test, ast.Name | ast.Attribute):
        return (_dotted(test) or [""])[-1] == "TYPE_CHECKING"
    if isinstance(test, ast.Compare) and len(test.comparators) == 1:
        names = [test.left, test.comparators[0]]
        return any(isinstance(n, ast.Name) and n.id == "__name__" for n in names) and any(
            isinstance(n, ast.Constant) and n.value == "__main__" for n in names
        )
    return False


def _code(source: str, node: ast.AST, limit: int = 100) -> str:
    text = ast.get_source_segment(source, node) or ""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _ParseTimeWalker:
    """Visits exactly the code that runs when the module is imported, collecting costly calls."""

    def __init__(self, tree: ast.Module, source: str) -> None:
        self.source = source
        self.aliases = _import_aliases(tree)
        self.functions: dict[str, list[ast.FunctionDef | ast.AsyncFunctionDef]] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                self.functions.setdefault(node.name, []).append(node)
        self.entered: set[int] = set()
        self.findings: list[SourceFinding] = []

    def visit_block(self, statements: Iterable[ast.stmt]) -> None:
        for statement in statements:
            self.visit_node(statement)

    def visit_node(self, node: ast.AST) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for expr in [*node.decorator_list, *node.args.defaults, *node.args.kw_defaults]:
                if expr is not None:
                    self.visit_expr(expr)
            if _runs_when_defined(node):
                self.enter(node)
        elif isinstance(node, ast.If) and _is_main_or_type_checking_guard(node.test):
            self.visit_block(node.orelse)
        elif isinstance(node, ast.expr):
            self.visit_expr(node)
        else:
            for child in ast.iter_child_nodes(node):
                self.visit_node(child)

    def visit_expr(self, expr: ast.expr) -> None:
        for node in self._executed_nodes(expr):
            if not isinstance(node, ast.Call):
                continue
            name = _qualified(node.func, self.aliases)
            if name is None:
                continue
            kind = classify_call(name)
            if kind is not None:
                written = ".".join(_dotted(node.func) or [name])
                self.findings.append(SourceFinding(node.lineno, written, kind, _code(self.source, node)))
            if isinstance(node.func, ast.Name):
                for function in self.functions.get(node.func.id, []):
                    if not _runs_as_task(function):
                        self.enter(function)

    def enter(self, function: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if id(function) not in self.entered:
            self.entered.add(id(function))
            self.visit_block(function.body)

    @staticmethod
    def _executed_nodes(expr: ast.expr) -> Iterator[ast.AST]:
        """Every node of ``expr`` except lambda bodies (they run later, if ever)."""
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            yield node
            if isinstance(node, ast.Lambda):
                stack.extend(d for d in [*node.args.defaults, *node.args.kw_defaults] if d is not None)
            else:
                stack.extend(ast.iter_child_nodes(node))


def _assignments(stmt: ast.stmt) -> Iterator[tuple[ast.expr, ast.expr]]:
    if isinstance(stmt, ast.Assign):
        for target in stmt.targets:
            yield target, stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        yield stmt.target, stmt.value


def _start_date_bindings(tree: ast.Module, source: str) -> Iterator[tuple[int, str, ast.expr]]:
    """(line, code, value) for every way a start date is written down in the file."""
    for node in ast.walk(tree):
        if isinstance(node, ast.keyword) and node.arg == "start_date":
            yield node.value.lineno, _code(source, node), node.value
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == "start_date":
                    yield key.lineno, f"{_code(source, key)}: {_code(source, value)}", value
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            for target, value in _assignments(node):
                if (
                    isinstance(target, ast.Subscript)
                    and isinstance(target.slice, ast.Constant)
                    and target.slice.value == "start_date"
                ):
                    yield node.lineno, _code(source, node), value


def _clock_call(
    value: ast.expr,
    aliases: dict[str, str],
    module_values: dict[str, list[ast.expr]],
    depth: int,
    seen: set[str],
) -> tuple[str, int] | None:
    """(clock function, line) when ``value`` reads the clock, following module-level names."""
    for node in ast.walk(value):
        if isinstance(node, ast.Call):
            name = _qualified(node.func, aliases)
            if name is not None and any(name == c or name.endswith("." + c) for c in _CLOCK_CALLS):
                return ".".join(_dotted(node.func) or [name]), node.lineno
        elif isinstance(node, ast.Name) and depth < 5 and node.id not in seen:
            seen.add(node.id)
            for assigned in module_values.get(node.id, []):
                found = _clock_call(assigned, aliases, module_values, depth + 1, seen)
                if found is not None:
                    return found
    return None
