"""BigQuery connections (type ``google_cloud_platform`` or ``gcpbigquery``): the worker's application
default credentials (the default), a service account key file's JSON, or its path."""

from __future__ import annotations

import json
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfile

#: The type whose legacy ``extra__<type>__<name>`` extras a ``gcpbigquery`` connection may hold too.
_GCP = "google_cloud_platform"


class BigQueryProfile(DbtProfile):
    """A BigQuery connection with no key: dbt's ``oauth`` method, the worker's application default
    credentials."""

    adapter = "bigquery"
    connection_types = ("google_cloud_platform", "gcpbigquery")
    required = (
        ("project", "extra 'project' or the key file's project_id"),
        ("dataset", "extra 'dataset'"),
    )
    # the key file's fields, and those of dbt-bigquery's oauth-secrets method
    secret_fields = frozenset({"private_key", "private_key_id", "token", "refresh_token", "client_secret"})

    def target(self) -> dict[str, Any]:
        f = self.fields
        target: dict[str, Any] = {
            "type": "bigquery",
            "project": f.extra("project", _GCP),
            "dataset": f.extra("dataset", _GCP),
            "location": f.extra("location", _GCP),
        }
        self.credentials(target)
        chain = f.extra("impersonation_chain", _GCP)
        if isinstance(chain, str) and chain and "," not in chain:
            target["impersonate_service_account"] = chain
        return target

    def credentials(self, target: dict[str, Any]) -> None:
        target["method"] = "oauth"  # application default credentials of the worker


class BigQueryKeyfileJsonProfile(BigQueryProfile):
    """A service account key file's JSON in extra ``keyfile_dict`` (text or an object)."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return bool(fields.extra("keyfile_dict", _GCP))

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        keyfile = f.extra("keyfile_dict", _GCP)
        if isinstance(keyfile, str):
            try:
                keyfile = json.loads(keyfile)
            except ValueError:
                raise f.error(
                    "extra keyfile_dict is not valid JSON; paste the service account key file"
                ) from None
        if not isinstance(keyfile, dict):
            raise f.error("extra keyfile_dict must be the service account key file's JSON object")
        target.update(method="service-account-json", keyfile_json=dict(keyfile))
        target["project"] = target["project"] or keyfile.get("project_id")


class BigQueryKeyfileProfile(BigQueryProfile):
    """The path of a service account key file on the worker, in extra ``key_path``."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return bool(fields.extra("key_path", _GCP))

    def credentials(self, target: dict[str, Any]) -> None:
        target.update(method="service-account", keyfile=str(self.fields.extra("key_path", _GCP)))


#: Asked in this order whether they read a connection; the adapter's own class last.
PROFILES = (BigQueryKeyfileJsonProfile, BigQueryKeyfileProfile, BigQueryProfile)
