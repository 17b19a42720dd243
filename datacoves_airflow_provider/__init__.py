"""Datacoves' Apache Airflow provider: dbt and shell tasks from DAGs, and the tools around them.

Importing this package is cheap: operators and decorators are imported from their own modules
(``datacoves_airflow_provider.operators.bash``, ...) or through ``@task.datacoves_*``.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__ = version("datacoves-airflow-provider")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
