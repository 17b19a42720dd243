"""Every difference between the Airflow 2.11 and 3.x lines, in one place.

The rest of the package imports Airflow's moving parts from here and never asks which Airflow it
runs on. Most names come from ``airflow.providers.common.compat.sdk``, which resolves them lazily
for the running Airflow; the few it does not cover are resolved below.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow import __version__ as AIRFLOW_VERSION
from airflow.providers.common.compat.sdk import (
    SET_DURING_EXECUTION,
    AirflowException,
    AirflowNotFoundException,
    AirflowSkipException,
    AirflowTaskTimeout,
    BaseHook,
    DecoratedOperator,
    TaskDecorator,
    conf,
    context_merge,
    context_to_airflow_vars,
    determine_kwargs,
    mask_secret,
    redact,
    task_decorator_factory,
)
from packaging.version import Version

if TYPE_CHECKING:
    from airflow.providers.common.compat.sdk import Context

__all__ = [
    "AIRFLOW_VERSION",
    "AIRFLOW_V_3_0_PLUS",
    "SET_DURING_EXECUTION",
    "AirflowException",
    "AirflowNotFoundException",
    "AirflowSkipException",
    "AirflowTaskTimeout",
    "BaseHook",
    "Context",
    "DecoratedOperator",
    "TaskDecorator",
    "conf",
    "context_merge",
    "context_to_airflow_vars",
    "determine_kwargs",
    "mask_secret",
    "redact",
    "task_decorator_factory",
]

AIRFLOW_V_3_0_PLUS: bool = Version(Version(AIRFLOW_VERSION).base_version) >= Version("3.0.0")
