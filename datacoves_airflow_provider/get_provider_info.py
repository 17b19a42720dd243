"""Provider metadata read by Airflow through the ``apache_airflow_provider`` entry point.

It registers only what exists; each feature adds its own entries when it lands.
"""

from __future__ import annotations

from typing import Any

__all__ = ["get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Return the provider's metadata (validated by Airflow against provider_info.schema.json)."""
    from datacoves_airflow_provider import __version__

    return {
        "package-name": "datacoves-airflow-provider",
        "name": "Datacoves",
        "description": "Run dbt and shell jobs from DAGs in a private copy of your Datacoves repository.",
        "versions": [__version__],
        "task-decorators": [
            {
                "name": "datacoves_bash",
                "class-name": "datacoves_airflow_provider.decorators.bash.datacoves_bash_task",
            },
            {
                "name": "datacoves_dbt",
                "class-name": "datacoves_airflow_provider.decorators.dbt.datacoves_dbt_task",
            },
        ],
        "config": {
            "datacoves": {
                "description": "Datacoves provider settings.",
                "options": {
                    "staging_dir": {
                        "description": "Folder where each task's private copy of the repository is "
                        "created. Empty means the system temp folder.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/var/tmp/datacoves",
                        "default": "",
                    },
                    "default_virtualenv": {
                        "description": "Virtualenv activated for tasks that name none, when it exists.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/datacoves/virtualenvs/main",
                        "default": "/opt/datacoves/virtualenvs/main",
                    },
                },
            },
        },
    }
