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
            {
                "name": "datacoves_airflow_db_sync",
                "class-name": (
                    "datacoves_airflow_provider.decorators.data_sync.datacoves_airflow_db_sync_task"
                ),
            },
        ],
        "notifications": [
            "datacoves_airflow_provider.notifiers.ms_teams.MSTeamsNotifier",
            "datacoves_airflow_provider.notifiers.slack.SlackNotifier",
        ],
        "secrets-backends": ["datacoves_airflow_provider.secrets.datacoves.DatacovesSecretsBackend"],
        "config": {
            "datacoves": {
                "description": "Datacoves provider settings.",
                "options": {
                    "staging_dir": {
                        "description": "Folder where each task's private copy of the repository is "
                        "created: an absolute path, owned by the worker's user or root, not writable by "
                        "other users unless it has the sticky bit (as /tmp). Empty means the system "
                        "temp folder.",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/var/tmp/datacoves",
                        "default": "",
                    },
                    "default_virtualenv": {
                        "description": "Virtualenv activated for tasks that name none, when it exists "
                        "(an absolute path).",
                        "version_added": "0.1.0",
                        "type": "string",
                        "example": "/opt/datacoves/virtualenvs/main",
                        "default": "/opt/datacoves/virtualenvs/main",
                    },
                    "dbt_artifact_store": {
                        "description": "Where dbt tasks with dbt_api_enabled=True keep their artifacts: "
                        "'platform' (the dbt API's internal routes on a Datacoves worker, from "
                        "DATACOVES__DBT_API_URL and the Airflow Variable datacoves-dbt-api-secret), "
                        "'api' (the Datacoves dbt API's public v3 routes, from DATACOVES__API_ENDPOINT and "
                        "DATACOVES__API_TOKEN), s3://bucket/prefix (through the amazon provider), or an "
                        "absolute folder path. Empty: 'platform' when DATACOVES__DBT_API_URL is set, else "
                        "'api' when DATACOVES__API_ENDPOINT is set, otherwise the folder "
                        "$AIRFLOW_HOME/dbt_artifacts.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "s3://my-bucket/dbt-artifacts",
                        "default": "",
                    },
                    "dbt_artifact_store_conn_id": {
                        "description": "The AWS connection used when dbt_artifact_store is an s3:// path.",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "aws_artifacts",
                        "default": "aws_default",
                    },
                },
            },
        },
    }
