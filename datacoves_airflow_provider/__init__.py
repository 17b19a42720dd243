"""Datacoves' Apache Airflow provider: dbt and shell tasks from DAGs, and the tools around them.

Importing this package is cheap: operators and decorators are imported from their own modules
(``datacoves_airflow_provider.operators.bash``, ...) or through ``@task.datacoves_*``.
"""

from __future__ import annotations

__all__ = ["__version__"]

#: The single source of the version (pyproject.toml reads it from here).
__version__ = "0.2.0"
