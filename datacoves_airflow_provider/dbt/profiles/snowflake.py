"""Snowflake connections: password (the default), key pair, or OAuth."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import ConnectionFields, DbtProfile
from datacoves_airflow_provider.environment import is_truthy


def _pem_private_key(content: str) -> str:
    """The key as dbt-snowflake reads it: PEM text, or base64 DER.

    Airflow's SnowflakeHook accepts PEM or base64-encoded PEM; dbt accepts PEM or base64 DER. So
    base64-encoded PEM is decoded, escaped newlines from a one-line paste are restored, and
    leading white space is removed (dbt looks only at the first character).
    """
    text = content.replace("\\n", "\n").strip()
    if text.startswith("-----BEGIN"):
        return text + "\n"
    try:
        decoded = base64.b64decode(text, validate=False)
    except (binascii.Error, ValueError):
        return text
    if decoded.lstrip().startswith(b"-----BEGIN"):
        return decoded.decode("ascii", "replace").strip() + "\n"
    return text  # base64 DER: dbt reads that as it is


class SnowflakeProfile(DbtProfile):
    """A Snowflake connection with a password (Login and Password)."""

    adapter = "snowflake"
    connection_types = ("snowflake",)
    required = (
        ("account", "extra 'account'"),
        ("user", "Login"),
        ("database", "extra 'database'"),
        ("schema", "Schema"),
    )
    one_of = (
        ("password", "private_key", "private_key_path", "authenticator", "token"),
        "a Password, extra 'private_key_content' or 'private_key_file', or extra 'authenticator'",
    )
    secret_fields = frozenset(
        {"password", "private_key", "private_key_passphrase", "token", "oauth_client_secret"}
    )

    def target(self) -> dict[str, Any]:
        f = self.fields
        account = f.extra("account")
        region = f.extra("region")
        if account and region and "." not in str(account):
            account = f"{account}.{region}"  # dbt has no region field: it is part of the account
        target: dict[str, Any] = {
            "type": "snowflake",
            "account": account,
            "user": f.attr("login"),
            "database": f.extra("database"),
            "warehouse": f.extra("warehouse"),
            "role": f.extra("role"),
            "schema": f.attr("schema"),
        }
        self.credentials(target)
        authenticator = f.extras.get("authenticator")
        if authenticator and authenticator not in ("snowflake", "oauth"):
            target["authenticator"] = authenticator
        for name in ("host", "port", "protocol"):
            target[name] = f.extras.get(name) or None
        if f.extra("insecure_mode") is not None:
            target["insecure_mode"] = is_truthy(f.extra("insecure_mode"), connection_extra=True)
        return target

    def credentials(self, target: dict[str, Any]) -> None:
        target["password"] = self.fields.attr("password")


class SnowflakeKeyPairProfile(SnowflakeProfile):
    """Key-pair authentication: extra ``private_key_content`` (PEM, or base64) or
    ``private_key_file``; the Password, when set, is the key's passphrase."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return bool(fields.extra("private_key_content") or fields.extra("private_key_file"))

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        content, key_file = f.extra("private_key_content"), f.extra("private_key_file")
        if content and key_file:
            raise f.error("has both private_key_content and private_key_file; keep one of them")
        if content:
            target["private_key"] = _pem_private_key(str(content))
        else:
            target["private_key_path"] = str(key_file)
        if f.attr("password"):
            target["private_key_passphrase"] = str(f.conn.password).strip()


class SnowflakeOAuthProfile(SnowflakeProfile):
    """OAuth: extra ``authenticator`` ``oauth`` and ``refresh_token``; Login and Password are the
    OAuth client's id and secret."""

    @classmethod
    def claims(cls, fields: ConnectionFields) -> bool:
        return fields.extras.get("authenticator") == "oauth"

    def credentials(self, target: dict[str, Any]) -> None:
        f = self.fields
        target.update(
            authenticator="oauth",
            token=f.extra("refresh_token"),
            oauth_client_id=f.attr("login"),
            oauth_client_secret=f.attr("password"),
        )


#: Asked in this order whether they read a connection; the adapter's own class last.
PROFILES = (SnowflakeKeyPairProfile, SnowflakeOAuthProfile, SnowflakeProfile)
