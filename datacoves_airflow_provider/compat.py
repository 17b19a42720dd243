"""Every difference between the Airflow 2.10/2.11 and 3.x lines, in one place.

The rest of the package imports Airflow's moving parts from here and never asks which Airflow it
runs on. Each name is looked up in a short list of module paths, newest Airflow first (the same
paths ``airflow.providers.common.compat.sdk`` uses). The package does not depend on that provider:
the releases whose ``sdk`` module has every name used here require Airflow 2.11, and the
Datacoves platform's image runs Airflow 2.10 (docs/running-on-datacoves.md, "Install").

Names are resolved on first use (PEP 562 ``__getattr__``), not when this module is imported: the
secrets backend is imported while Airflow 2 is still initialising its configuration, when
resolving e.g. ``DecoratedOperator`` would be a circular import; and a DAG file pays only for the
names its operators use.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION
from packaging.version import Version

from datacoves_airflow_provider.exceptions import DatacovesError

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.common.compat.sdk import (
        DAG,
        SET_DURING_EXECUTION,
        AirflowException,
        AirflowNotFoundException,
        AirflowSkipException,
        AirflowTaskTimeout,
        BaseHook,
        BaseNotifier,
        BaseOperator,
        Connection,
        Context,
        DecoratedOperator,
        TaskDecorator,
        Variable,
        conf,
        context_merge,
        context_to_airflow_vars,
        determine_kwargs,
        redact,
        task_decorator_factory,
    )
    from airflow.providers.standard.hooks.subprocess import SubprocessHook, SubprocessResult
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.secrets import BaseSecretsBackend

    SecretsLookupRefused = PermissionError

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "DAG",
    "SET_DURING_EXECUTION",
    "AirflowException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseSecretsBackend",
    "BashOperator",
    "Connection",
    "Context",
    "DecoratedOperator",
    "SecretsLookupRefused",
    "SubprocessHook",
    "SubprocessResult",
    "TaskDecorator",
    "Variable",
    "conf",
    "context_merge",
    "context_to_airflow_vars",
    "determine_kwargs",
    "get_variable",
    "mask_secret",
    "metadata_database_url",
    "min_masked_secret_length",
    "new_dag_bag",
    "redact",
    "snowflake_conn_params",
    "task_decorator_factory",
    "variable_from_other_secrets_backends",
]

AIRFLOW_V_3_0_PLUS: bool = Version(Version(AIRFLOW_VERSION).base_version) >= Version("3.0.0")

_SDK = "airflow.sdk"
_SDK_DECORATOR = "airflow.sdk.bases.decorator"
_SDK_EXCEPTIONS = "airflow.sdk.exceptions"

#: Where each name lives: the modules to try, newest Airflow first, the Airflow 2.10/2.11 one last.
#: (``SET_DURING_EXECUTION`` on Airflow 2 is :data:`SET_DURING_EXECUTION_AIRFLOW_2`, below.)
_IMPORT_PATHS: dict[str, tuple[str, ...]] = {
    "AirflowException": (_SDK_EXCEPTIONS, "airflow.exceptions"),
    "AirflowNotFoundException": (_SDK_EXCEPTIONS, "airflow.exceptions"),
    "AirflowSkipException": (_SDK_EXCEPTIONS, "airflow.exceptions"),
    "AirflowTaskTimeout": (_SDK_EXCEPTIONS, "airflow.exceptions"),
    "BaseHook": (_SDK, "airflow.hooks.base"),
    "BaseNotifier": (_SDK, "airflow.notifications.basenotifier"),
    "BaseOperator": (_SDK, "airflow.models.baseoperator"),
    # the standard provider (always there on Airflow 3, optional on 2.x) before 2.x core's own
    "BashOperator": ("airflow.providers.standard.operators.bash", "airflow.operators.bash"),
    "Connection": (_SDK, "airflow.models.connection"),
    "DAG": (_SDK, "airflow.models.dag"),
    "DecoratedOperator": (_SDK_DECORATOR, "airflow.decorators.base"),
    "SET_DURING_EXECUTION": ("airflow.sdk.definitions._internal.types",),
    # the hook BashOperator runs its command with, from the same place as BashOperator
    "SubprocessHook": ("airflow.providers.standard.hooks.subprocess", "airflow.hooks.subprocess"),
    "SubprocessResult": ("airflow.providers.standard.hooks.subprocess", "airflow.hooks.subprocess"),
    "TaskDecorator": (_SDK_DECORATOR, "airflow.decorators"),
    "Variable": (_SDK, "airflow.models.variable"),
    "conf": ("airflow.sdk.configuration", "airflow.configuration"),
    "context_merge": ("airflow.sdk.definitions.context", "airflow.utils.context"),
    "context_to_airflow_vars": ("airflow.sdk.execution_time.context", "airflow.utils.operator_helpers"),
    "determine_kwargs": (_SDK_DECORATOR, "airflow.utils.operator_helpers"),
    "redact": (
        "airflow.sdk.log",
        "airflow.sdk._shared.secrets_masker",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    ),
    "task_decorator_factory": (_SDK_DECORATOR, "airflow.decorators.base"),
    "_airflow_mask_secret": (
        "airflow.sdk.log",
        "airflow.sdk.execution_time.secrets_masker",
        "airflow.utils.log.secrets_masker",
    ),
}

#: The attribute each path holds, where it differs from the name used here.
_ATTRIBUTE = {"_airflow_mask_secret": "mask_secret"}


def _import_first(name: str) -> Any:
    """``name`` from the first of its :data:`_IMPORT_PATHS` modules that has it."""
    attribute = _ATTRIBUTE.get(name, name)
    failures: list[str] = []
    for path in _IMPORT_PATHS[name]:
        try:
            return getattr(importlib.import_module(path), attribute)
        except (ImportError, AttributeError) as exc:
            failures.append(f"{path}: {exc}")
    if name == "SET_DURING_EXECUTION" and not AIRFLOW_V_3_0_PLUS:
        return _set_during_execution_airflow_2()
    raise ImportError(
        f"Airflow {AIRFLOW_VERSION} has no {attribute!r} where this provider looks for it ("
        + "; ".join(failures)
        + "): supported are Airflow 2.10, 2.11 and 3.x"
    )


def _set_during_execution_airflow_2() -> Any:
    """Airflow 2's stand-in for the Task SDK's ``SET_DURING_EXECUTION``: an ``ArgNotSet`` (so that
    Airflow treats the field as unset) whose text is fixed. A bare ``NOTSET`` in a templated field is
    serialised as its object address, which changes the DAG's hash on every parse."""
    from airflow.utils.types import ArgNotSet  # type: ignore[attr-defined]  # Airflow 2 only

    class SetDuringExecution(ArgNotSet):  # type: ignore[misc,valid-type]
        """Sentinel for an argument set during execution, not at parse time."""

        def __repr__(self) -> str:
            return "DYNAMIC (set during execution)"

        __str__ = __repr__

        def __copy__(self) -> SetDuringExecution:  # a sentinel survives Airflow's copies of a task
            return self

        def __deepcopy__(self, memo: dict[int, Any]) -> SetDuringExecution:
            return self

    return SetDuringExecution()


class SecretsLookupRefusedOnAirflow2(DatacovesError, PermissionError):
    """What ``SecretsLookupRefused`` is on Airflow 2.11, which logs any backend error and searches
    on (see docs/secrets.md)."""


def _secrets_lookup_refused() -> type[Exception]:
    try:  # Airflow 3 (task SDK >= 1.2.2): a backend raises it to stop the search ("authoritative deny")
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
    except ImportError:
        return SecretsLookupRefusedOnAirflow2
    return AirflowSecretsBackendAccessDenied


def __getattr__(name: str) -> Any:
    if name in _IMPORT_PATHS:
        value = _import_first(name)
    elif name == "BaseSecretsBackend":  # the core class: both lines (and the amazon provider) use it
        from airflow.secrets import BaseSecretsBackend

        value = BaseSecretsBackend
    elif name == "SecretsLookupRefused":
        value = _secrets_lookup_refused()
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value  # resolved once
    return value


def new_dag_bag(dag_folder: str | os.PathLike[str], *, safe_mode: bool = True) -> DagBag:
    """A DagBag filled from ``dag_folder`` (a folder or one file), never with Airflow's example DAGs.

    Airflow 3 moved ``DagBag`` to ``airflow.dag_processing.dagbag`` and dropped its
    ``include_examples`` argument (examples are a bundle of their own there); 2.x needs it set to
    False, or ``[core] load_examples`` adds the examples. Imported here, when called, so that DAG files
    importing this module do not pay for it.

    :param dag_folder: the folder (or single file) to parse.
    :param safe_mode: skip files that do not mention both "airflow" and "dag", as the DAG processor does.
    """
    if AIRFLOW_V_3_0_PLUS:
        from airflow.dag_processing.dagbag import DagBag

        return DagBag(dag_folder=os.fspath(dag_folder), safe_mode=safe_mode)
    from airflow.models.dagbag import DagBag as DagBag2

    return DagBag2(dag_folder=os.fspath(dag_folder), include_examples=False, safe_mode=safe_mode)  # type: ignore[call-arg,return-value]


#: The shortest value Airflow 3's masker masks by default (``[logging] min_length_masked_secret``);
#: Airflow 2.11 masks any length, and this provider uses the same floor there.
DEFAULT_MIN_MASKED_SECRET_LENGTH = 5


def min_masked_secret_length() -> int:
    """The shortest value worth registering with the secrets masker: shorter ones are not secret
    and masking them would garble logs (every ``8`` or ``eu`` shown as ``***``).

    Airflow 3 skips shorter values itself (``[logging] min_length_masked_secret``, default 5) and
    this returns that setting; Airflow 2.11 masks any length it is given, so this provider applies
    the same default floor before registering the parts of a secret (its leaves and lines).
    """
    if not AIRFLOW_V_3_0_PLUS:
        return DEFAULT_MIN_MASKED_SECRET_LENGTH
    from airflow.configuration import conf as core_conf

    try:
        return max(1, core_conf.getint("logging", "min_length_masked_secret", fallback=5))
    except Exception:  # an unreadable setting: Airflow falls back to its default too
        return DEFAULT_MIN_MASKED_SECRET_LENGTH


def mask_secret(secret: Any, name: str | None = None) -> None:
    """Airflow's ``mask_secret``, with Airflow 3's floor on both lines: text shorter than
    :func:`min_masked_secret_length` is not registered (Airflow 2.11 would mask every ``t`` or
    ``eu`` in every log line of the process from then on).

    :param secret: the value (text, or a dict / list of values, as Airflow takes them: each leaf is
        registered on its own, under the same floor).
    :param name: the key it was found under, if any.
    """
    if isinstance(secret, dict):  # each leaf on its own, so that the floor applies to every one
        for key, value in secret.items():
            mask_secret(value, key if isinstance(key, str) else name)
        return
    if isinstance(secret, (list, tuple, set, frozenset)):
        for value in secret:
            mask_secret(value, name)
        return
    if isinstance(secret, str) and len(secret) < min_masked_secret_length():
        return
    airflow_mask_secret = globals().get("_airflow_mask_secret") or __getattr__("_airflow_mask_secret")
    airflow_mask_secret(secret, name)


#: What Airflow 3 writes into ``[database] sql_alchemy_conn`` of a task process (in memory only), so
#: that task code goes through the API server instead of the metadata database.
def get_variable(key: str) -> str | None:
    """The Airflow Variable ``key`` read through Airflow's own Variable API (every secrets backend,
    the environment, the metastore or, on Airflow 3, the API server), or None when it does not exist.

    The default is passed positionally: Airflow 2 calls it ``default_var``, Airflow 3 ``default``.

    :param key: the Variable's key.
    """
    value = _import_first("Variable").get(key, None)
    return None if value is None else str(value)


BLOCKED_DATABASE_URL_PREFIX = "airflow-db-not-allowed"


def metadata_database_url() -> str | None:
    """``[database] sql_alchemy_conn`` as the deployment configured it (``""`` if it has none), or
    None in an Airflow 3 task process that was not given it.

    Airflow 2 task processes see the setting as configured. Airflow 3 task processes see a
    placeholder (``airflow-db-not-allowed:///``): tasks are meant to use the API server, and the
    Airflow database sync is the one task whose job is to read the database itself. There the value
    is the output of ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD`` when the deployment sets it; the
    task process's ``AIRFLOW__DATABASE__SQL_ALCHEMY_CONN`` variable holds the placeholder too, and an
    ``airflow.cfg`` on disk may hold a default the deployment overrides, so neither is read.
    """
    from airflow.configuration import conf as core_conf

    url = core_conf.get("database", "sql_alchemy_conn", fallback="") or ""
    if not url.startswith(BLOCKED_DATABASE_URL_PREFIX):
        return url
    command = os.environ.get("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_CMD")
    if command:
        import shlex
        import subprocess

        return subprocess.run(shlex.split(command), capture_output=True, text=True, check=True).stdout.strip()
    return None


def snowflake_conn_params(hook: Any, extra: dict[str, Any]) -> dict[str, Any]:
    """The connection parameters a ``SnowflakeHook`` builds from its Airflow connection, the same on
    every Snowflake provider this package supports.

    In the Snowflake provider 5.x (the one the Datacoves platform's Airflow 2.10 image ships)
    ``SnowflakeHook._get_conn_params`` is a cached property and leaves out the ``host`` and ``port``
    extras; from 6.0 on it is a method and passes them. They are added here when the hook did not.

    :param hook: the ``SnowflakeHook``.
    :param extra: the connection's extra (``extra_dejson``).
    """
    built = hook._get_conn_params
    params = dict(built() if callable(built) else built)
    for key in ("host", "port"):
        if extra.get(key) and not params.get(key):
            params[key] = extra[key]
    return params


def variable_from_other_secrets_backends(key: str, *, skip: type) -> str | None:
    """The value of Airflow variable ``key`` from the secrets backends this process searches,
    except those of class ``skip`` (a backend asking for its own token must not ask itself), or
    None when none of them has it.

    The backends are the ones Airflow itself searches in this process, in its order: on Airflow 3
    the task SDK's list for the context (a task: environment variables, then the execution API,
    i.e. the metastore through the API server; a server component: environment variables, then the
    metastore), on Airflow 2.11 ``airflow.configuration.ensure_secrets_loaded()`` (environment
    variables, then the metastore). A backend that fails is skipped, as Airflow does (its error is
    logged without the value).

    :param key: the variable's name, e.g. ``datacoves-primary-secret``.
    :param skip: the backend class not to ask (and its subclasses).
    """
    import logging

    backends: list[Any]
    if AIRFLOW_V_3_0_PLUS:
        try:
            from airflow.sdk.execution_time.supervisor import ensure_secrets_backend_loaded

            backends = ensure_secrets_backend_loaded()
        except ImportError:  # pragma: no cover (task SDK without the context-aware loader)
            from airflow.configuration import ensure_secrets_loaded

            backends = ensure_secrets_loaded()
    else:
        from airflow.configuration import ensure_secrets_loaded

        backends = ensure_secrets_loaded()
    for backend in backends:
        if isinstance(backend, skip):
            continue
        try:
            value = backend.get_variable(key=key)
        except Exception as exc:
            logging.getLogger(__name__).warning(
                "Variable %r could not be read from %s: %s", key, type(backend).__name__, type(exc).__name__
            )
            continue
        if value is not None:
            return value
    return None
