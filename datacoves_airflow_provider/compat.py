"""Every difference between the Airflow 2.11 and 3.x lines, in one place.

The rest of the package imports Airflow's moving parts from here and never asks which Airflow it
runs on. Most names come from ``airflow.providers.common.compat.sdk``, which resolves them for the
running Airflow; the few it does not cover are resolved below.

Names are resolved on first use (PEP 562 ``__getattr__``), not when this module is imported: the
secrets backend is imported while Airflow 2 is still initialising its configuration, when
resolving e.g. ``DecoratedOperator`` would be a circular import; and a DAG file pays only for the
names its operators use.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from airflow import __version__ as AIRFLOW_VERSION
from packaging.version import Version

if TYPE_CHECKING:
    from airflow.dag_processing.dagbag import DagBag
    from airflow.providers.common.compat.sdk import (
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
        conf,
        context_merge,
        context_to_airflow_vars,
        determine_kwargs,
        redact,
        task_decorator_factory,
    )
    from airflow.secrets import BaseSecretsBackend

    SecretsLookupRefused = PermissionError

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "SET_DURING_EXECUTION",
    "AirflowException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseHook",
    "BaseNotifier",
    "BaseOperator",
    "BaseSecretsBackend",
    "Connection",
    "Context",
    "DecoratedOperator",
    "SecretsLookupRefused",
    "TaskDecorator",
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
    "task_decorator_factory",
]

AIRFLOW_V_3_0_PLUS: bool = Version(Version(AIRFLOW_VERSION).base_version) >= Version("3.0.0")

#: Names ``airflow.providers.common.compat.sdk`` resolves for the running Airflow: all of
#: ``__all__`` except those defined or resolved here.
_FROM_COMMON_COMPAT = frozenset(__all__) - {
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "BaseSecretsBackend",
    "Context",
    "SecretsLookupRefused",
    "get_variable",
    "mask_secret",
    "metadata_database_url",
    "min_masked_secret_length",
    "new_dag_bag",
}


class SecretsLookupRefusedOnAirflow2(PermissionError):
    """What ``SecretsLookupRefused`` is on Airflow 2.11, which logs any backend error and searches
    on (see docs/secrets.md)."""


def _secrets_lookup_refused() -> type[Exception]:
    try:  # Airflow 3 (task SDK >= 1.2.2): a backend raises it to stop the search ("authoritative deny")
        from airflow.sdk.exceptions import AirflowSecretsBackendAccessDenied
    except ImportError:
        return SecretsLookupRefusedOnAirflow2
    return AirflowSecretsBackendAccessDenied


def __getattr__(name: str) -> Any:
    if name in _FROM_COMMON_COMPAT:
        from airflow.providers.common.compat import sdk

        value = getattr(sdk, name)
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

    :param secret: the value (text, or a dict / list of values, as Airflow takes them).
    :param name: the key it was found under, if any.
    """
    if isinstance(secret, str) and len(secret) < min_masked_secret_length():
        return
    from airflow.providers.common.compat.sdk import mask_secret as airflow_mask_secret

    airflow_mask_secret(secret, name)


#: What Airflow 3 writes into ``[database] sql_alchemy_conn`` of a task process (in memory only), so
#: that task code goes through the API server instead of the metadata database.
def get_variable(key: str) -> str | None:
    """The Airflow Variable ``key`` read through Airflow's own Variable API (every secrets backend,
    the environment, the metastore or, on Airflow 3, the API server), or None when it does not exist.

    The default is passed positionally: Airflow 2 calls it ``default_var``, Airflow 3 ``default``.

    :param key: the Variable's key.
    """
    from airflow.providers.common.compat.sdk import Variable

    value = Variable.get(key, None)
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
