"""Temporary dbt profiles built from Airflow connections, with no secret on disk.

Each supported connection type has a small builder that reads the fields the Airflow provider's
own hook reads (including the legacy ``extra__<type>__<name>`` extras) and returns a dbt target.
``overrides`` are applied on top, required fields are checked with an error that names the
connection and the field, and the profile is written with every secret replaced by
``{{ env_var('DBT_ENV_SECRET_DATACOVES_...') }}``: the values travel only in the dbt process's
environment (dbt scrubs ``DBT_ENV_SECRET_*`` values from its own logs), and are registered with
Airflow's secrets masker.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = [
    "DEFAULT_PROFILE_NAME",
    "DEFAULT_TARGET_NAME",
    "DEFAULT_THREADS",
    "SUPPORTED_CONNECTION_TYPES",
    "DbtProfileError",
    "WrittenProfile",
    "build_target",
    "check_overrides",
    "mask_secret_fields",
    "parse_overrides_text",
    "write_connection_profile",
    "write_profile",
]

DEFAULT_PROFILE_NAME = "default"
DEFAULT_TARGET_NAME = "default"
#: dbt threads when neither the connection (extra ``threads``) nor ``overrides`` set them.
DEFAULT_THREADS = 4

#: Profile fields whose values are secrets, at any depth (BigQuery's keyfile_json has some).
SECRET_FIELDS = frozenset(
    {
        "password",
        "token",
        "private_key",
        "private_key_id",
        "private_key_passphrase",
        "client_secret",
        "oauth_client_secret",
        "motherduck_token",
        "refresh_token",
    }
)
#: Fields that must be a single value when given in ``overrides``.
_SCALAR_FIELDS = frozenset(
    {
        "account", "user", "password", "role", "warehouse", "database", "schema", "threads", "host",
        "port", "dbname", "dataset", "project", "catalog", "path", "http_path", "token", "method",
        "authenticator", "location", "protocol", "private_key", "private_key_path",
        "private_key_passphrase", "sslmode", "keyfile",
    }
)  # fmt: skip
_INTEGER_FIELDS = frozenset(
    {"threads", "port", "connect_timeout", "connect_retries", "keepalives_idle", "job_retries"}
)
_JINJA = re.compile(r"{{|{%|{#")


class DbtProfileError(DatacovesError, ValueError):
    """A connection cannot be turned into a dbt profile; the message names the connection and field."""


@dataclass(frozen=True)
class WrittenProfile:
    """A temporary profile on disk. Its ``repr()`` names the variables of ``env`` but never shows
    their values (they are the profile's secrets).

    :param folder: the folder with profiles.yml (give it to dbt as ``DBT_PROFILES_DIR``).
    :param adapter_type: the dbt adapter, e.g. ``snowflake``.
    :param env: variables the dbt process needs: the secrets the profile refers to.
    """

    folder: Path
    adapter_type: str
    env: dict[str, str] = field(repr=False)

    def __repr__(self) -> str:
        hidden = ", ".join(f"{name!r}: '***'" for name in self.env)
        return (
            f"WrittenProfile(folder={str(self.folder)!r}, adapter_type={self.adapter_type!r}, "
            f"env={{{hidden}}})"
        )


# -- reading connections ------------------------------------------------------------------------


class _Fields:
    """A connection's fields, read the way the provider's hook reads them."""

    def __init__(self, conn: Any, conn_type: str) -> None:
        self.conn = conn
        self.conn_id = str(getattr(conn, "conn_id", None) or "?")
        self.conn_type = conn_type
        try:
            extras = conn.extra_dejson
        except Exception:
            extras = None
        self.extras: dict[str, Any] = extras if isinstance(extras, dict) else {}

    def extra(self, name: str, *legacy_types: str) -> Any:
        """``name`` from the extras, or its legacy ``extra__<type>__<name>`` form; "" counts as unset."""
        for key in (name, *(f"extra__{t}__{name}" for t in (self.conn_type, *legacy_types))):
            value = self.extras.get(key)
            if value not in (None, ""):
                return value
        return None

    def attr(self, name: str) -> Any:
        value = getattr(self.conn, name, None)
        return None if value in (None, "") else value

    def error(self, message: str) -> DbtProfileError:
        return DbtProfileError(f"Connection {self.conn_id!r} ({self.conn_type}): {message}")

    def __repr__(self) -> str:  # the extras hold keys and passwords: never show them
        return f"_Fields(conn_id={self.conn_id!r}, conn_type={self.conn_type!r}, extras=<hidden>)"


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() in {"true", "1", "yes", "on"})


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


def _snowflake(f: _Fields) -> dict[str, Any]:
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
    content, key_file = f.extra("private_key_content"), f.extra("private_key_file")
    authenticator = f.extras.get("authenticator")
    if content and key_file:
        raise f.error("has both private_key_content and private_key_file; keep one of them")
    if content or key_file:
        if content:
            target["private_key"] = _pem_private_key(str(content))
        else:
            target["private_key_path"] = str(key_file)
        if f.attr("password"):
            target["private_key_passphrase"] = str(f.conn.password).strip()
    elif authenticator == "oauth":
        target.update(
            authenticator="oauth",
            token=f.extra("refresh_token"),
            oauth_client_id=f.attr("login"),
            oauth_client_secret=f.attr("password"),
        )
    else:
        target["password"] = f.attr("password")
    if authenticator and authenticator not in ("snowflake", "oauth"):
        target["authenticator"] = authenticator
    for name in ("host", "port", "protocol"):
        target[name] = f.extras.get(name) or None
    if f.extra("insecure_mode") is not None:
        target["insecure_mode"] = _flag(f.extra("insecure_mode"))
    return target


def _postgres_like(f: _Fields, adapter: str, default_port: int) -> dict[str, Any]:
    target: dict[str, Any] = {
        "type": adapter,
        "host": f.attr("host"),
        "port": f.attr("port") or default_port,
        "user": f.attr("login"),
        "password": f.attr("password"),
        "dbname": f.attr("schema") or f.extra("dbname") or f.extra("database"),
        "schema": f.extra("schema"),
    }
    for name in ("sslmode", "sslcert", "sslkey", "sslrootcert", "keepalives_idle", "connect_timeout", "role"):
        if f.extra(name) is not None:
            target[name] = f.extra(name)
    return target


def _postgres(f: _Fields) -> dict[str, Any]:
    return _postgres_like(f, "postgres", 5432)


def _redshift(f: _Fields) -> dict[str, Any]:
    target = _postgres_like(f, "redshift", 5439)
    if _flag(f.extra("iam")):
        host = str(target.get("host") or "")
        target.pop("password", None)
        target.update(
            method="iam",
            cluster_id=f.extra("cluster_identifier") or (host.split(".")[0] if host else None),
            region=f.extra("region"),
            iam_profile=f.extra("profile"),
        )
        if _flag(f.extra("is_serverless")):
            target.update(is_serverless=True, serverless_work_group=f.extra("serverless_work_group"))
    return target


def _bigquery(f: _Fields) -> dict[str, Any]:
    keyfile = f.extra("keyfile_dict", "google_cloud_platform")
    key_path = f.extra("key_path", "google_cloud_platform")
    target: dict[str, Any] = {
        "type": "bigquery",
        "project": f.extra("project", "google_cloud_platform"),
        "dataset": f.extra("dataset", "google_cloud_platform"),
        "location": f.extra("location", "google_cloud_platform"),
    }
    if keyfile:
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
    elif key_path:
        target.update(method="service-account", keyfile=str(key_path))
    else:
        target["method"] = "oauth"  # application default credentials of the worker
    chain = f.extra("impersonation_chain", "google_cloud_platform")
    if isinstance(chain, str) and chain and "," not in chain:
        target["impersonate_service_account"] = chain
    return target


def _databricks(f: _Fields) -> dict[str, Any]:
    host = re.sub(r"^https?://", "", str(f.extra("host") or f.attr("host") or "")).rstrip("/")
    target: dict[str, Any] = {
        "type": "databricks",
        "host": host or None,
        "http_path": f.extra("http_path"),
        "catalog": f.extra("catalog"),
        "schema": f.extra("schema"),
    }
    if f.extra("token"):
        target["token"] = f.extra("token")
    elif _flag(f.extra("service_principal_oauth")):
        target.update(auth_type="oauth", client_id=f.attr("login"), client_secret=f.attr("password"))
    elif f.attr("password") and not f.attr("login"):
        target["token"] = f.attr("password")
    elif f.attr("password"):
        raise f.error(
            "has a login and a password, which is basic auth; dbt-databricks needs a personal access "
            "token: put the token in the Password field and leave Login empty"
        )
    else:
        target["token"] = None
    return target


def _duckdb(f: _Fields) -> dict[str, Any]:
    target: dict[str, Any] = {"type": "duckdb", "schema": f.extra("schema")}
    if f.attr("password"):  # MotherDuck: the token is the password, the database the schema field
        if f.attr("host"):
            raise f.error("has both a file path (host) and a MotherDuck token (password); keep one")
        target.update(path=f"md:{f.attr('schema') or ''}", motherduck_token=f.attr("password"))
    else:
        target["path"] = f.attr("host") or ":memory:"
    return target


_BUILDERS: dict[str, Callable[[_Fields], dict[str, Any]]] = {
    "snowflake": _snowflake,
    "postgres": _postgres,
    "redshift": _redshift,
    "google_cloud_platform": _bigquery,
    "gcpbigquery": _bigquery,
    "databricks": _databricks,
    "duckdb": _duckdb,
}
#: Airflow connection types this module turns into dbt profiles.
SUPPORTED_CONNECTION_TYPES = tuple(sorted({*_BUILDERS, "postgresql"}))

#: Fields dbt needs, per adapter, with where the value comes from on the Airflow connection.
_REQUIRED: dict[str, Sequence[tuple[str, str]]] = {
    "snowflake": (
        ("account", "extra 'account'"),
        ("user", "Login"),
        ("database", "extra 'database'"),
        ("schema", "Schema"),
    ),
    "postgres": (
        ("host", "Host"),
        ("user", "Login"),
        ("password", "Password"),
        ("dbname", "Schema (Airflow's name for the database)"),
        ("schema", "extra 'schema'"),
    ),
    "redshift": (
        ("host", "Host"),
        ("user", "Login"),
        ("dbname", "Schema (Airflow's name for the database)"),
        ("schema", "extra 'schema'"),
    ),
    "bigquery": (
        ("project", "extra 'project' or the key file's project_id"),
        ("dataset", "extra 'dataset'"),
    ),
    "databricks": (
        ("host", "Host"),
        ("http_path", "extra 'http_path'"),
        ("schema", "extra 'schema'"),
    ),
    "duckdb": (("path", "Host (the database file)"),),
}
_ONE_OF: dict[str, tuple[tuple[str, ...], str]] = {
    "snowflake": (
        ("password", "private_key", "private_key_path", "authenticator", "token"),
        "a Password, extra 'private_key_content' or 'private_key_file', or extra 'authenticator'",
    ),
    "redshift": (("password", "method"), "a Password, or extra 'iam': true"),
    "databricks": (("token", "client_secret"), "a token in the Password field (Login empty)"),
}


def _normalise_type(conn_type: object) -> str:
    value = str(conn_type or "").strip().lower().replace("-", "_")
    return "postgres" if value == "postgresql" else value


def build_target(conn: Any, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The dbt target for an Airflow connection, secrets still in place, ``overrides`` applied last.

    :param conn: an Airflow ``Connection``.
    :param overrides: profile fields that replace or add to the connection's.
    """
    conn_type = _normalise_type(getattr(conn, "conn_type", None))
    fields = _Fields(conn, conn_type)
    builder = _BUILDERS.get(conn_type)
    if builder is None:
        raise DbtProfileError(
            f"Connection {fields.conn_id!r} has type {getattr(conn, 'conn_type', None)!r}, which cannot be "
            f"turned into a dbt profile; supported types: {', '.join(SUPPORTED_CONNECTION_TYPES)}. "
            "Use one of those, or leave connection_id out and use your repository's profiles.yml"
        )
    target = builder(fields)
    threads = fields.extra("threads")
    target["threads"] = threads if threads is not None else DEFAULT_THREADS
    target.update(overrides or {})
    target = {key: value for key, value in target.items() if value is not None}
    for key in _INTEGER_FIELDS & target.keys():
        value = target[key]
        if isinstance(value, str) and value.strip().isdigit():
            target[key] = int(value)
    threads = target.get("threads")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        source = "overrides['threads']" if "threads" in (overrides or {}) else "extra 'threads'"
        raise fields.error(
            f"{source} must be a positive whole number of dbt threads, e.g. 4, got {threads!r}"
        )
    adapter = str(target.get("type"))
    missing = [
        (name, source) for name, source in _REQUIRED.get(adapter, ()) if target.get(name) in (None, "")
    ]
    if missing:
        name, source = missing[0]
        raise fields.error(
            f"dbt needs {name!r} for {adapter}, and the connection has none: set its {source}, "
            f"or pass overrides={{{name!r}: ...}}"
        )
    if adapter in _ONE_OF:
        names, sources = _ONE_OF[adapter]
        if not any(target.get(name) for name in names):
            raise fields.error(f"no credentials for dbt: set {sources}")
    return target


# -- writing profiles ---------------------------------------------------------------------------


def _variable(prefix: str, path: Sequence[str]) -> str:
    return prefix + "_".join(re.sub(r"\W", "_", part).upper() for part in path)


def _externalise(value: Any, path: tuple[str, ...], env: dict[str, str], secrets: list[str]) -> Any:
    """Replace secrets (and values dbt would take for Jinja) with ``env_var()`` references."""
    if isinstance(value, dict):
        return {key: _externalise(item, (*path, str(key)), env, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_externalise(item, (*path, str(i)), env, secrets) for i, item in enumerate(value)]
    if isinstance(value, str) and path[-1] in SECRET_FIELDS:
        name = _variable("DBT_ENV_SECRET_DATACOVES_", path)
        secrets.append(value)
    elif isinstance(value, str) and _JINJA.search(value):
        name = _variable("DATACOVES_DBT_", path)
    else:
        return value
    env[name] = value
    return "{{ env_var('" + name + "') }}"


def _mask(secret: str) -> None:
    from datacoves_airflow_provider.compat import mask_secret

    mask_secret(secret)
    for line in secret.splitlines():  # multi-line keys: each line too, as logs are written by line
        if len(line.strip()) >= 8 and not line.startswith("-----"):
            mask_secret(line.strip())


def mask_secret_fields(value: Any, path: tuple[str, ...] = ()) -> None:
    """Register every string under a secret field name (:data:`SECRET_FIELDS`, at any depth) of
    ``value`` with Airflow's secrets masker, as :func:`write_profile` does when it writes them.

    The dbt operator calls it on ``overrides`` the moment they are rendered, so the rendered
    template fields Airflow stores, the task log and the XCom show ``***`` in their place.

    :param value: profile fields (a dict, possibly nested), e.g. rendered ``overrides``.
    :param path: the keys leading to ``value`` (for recursion).
    """
    if isinstance(value, Mapping):
        for key, item in value.items():
            mask_secret_fields(item, (*path, str(key)))
    elif isinstance(value, (list, tuple)):
        for item in value:
            mask_secret_fields(item, path)
    elif isinstance(value, str) and value and path and path[-1] in SECRET_FIELDS:
        _mask(value)


def parse_overrides_text(text: str) -> Any:
    """``overrides`` that a template rendered to text, read back as JSON or a Python literal
    (``"{{ var.json.dbt_overrides }}"`` renders a dict's repr); None for empty text.

    The error never quotes the text: it may hold a password.

    :param text: the rendered text.
    """
    import ast

    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        pass
    try:
        return ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        raise DbtProfileError(
            f"overrides rendered to text ({len(text)} characters, not shown: it may hold a secret) that "
            "is neither a JSON object nor a Python dict; make the template render a dict of profile "
            'fields, e.g. overrides="{{ var.value.dbt_overrides }}" with the variable holding '
            '{"warehouse": "big_wh"}'
        ) from None


#: Characters a YAML reader rejects, or reads as a line break, inside a double-quoted scalar;
#: everything else (accents, emoji) is written as it is.
_YAML_UNSAFE = re.compile(
    r"[^\t\n\r\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]|[\u2028\u2029\ufeff]"
)


def _yaml_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def profile_document(profiles: Mapping[str, Any]) -> str:
    """``profiles`` as YAML: JSON (which is YAML, so no value can be misread as another type), in
    UTF-8 with non-ASCII characters as they are. JSON's ``\\ud83d\\ude80`` escapes for an emoji
    would break dbt: YAML has no surrogate pairs.

    :param profiles: the profiles.yml content.
    """
    return _YAML_UNSAFE.sub(_yaml_escape, json.dumps(profiles, indent=2, ensure_ascii=False))


def write_profile(
    target: Mapping[str, Any], *, folder: Path, profile_names: Sequence[str], target_name: str
) -> WrittenProfile:
    """Write ``target`` to ``folder/profiles.yml`` under each profile name; secrets stay out of it.

    :param target: a dbt target (see :func:`build_target`).
    :param folder: a folder to create for the profile; it is private (0700).
    :param profile_names: the profile names to write the target under.
    :param target_name: the target's name, selected as the profile's default.
    """
    env: dict[str, str] = {}
    secrets: list[str] = []
    output = _externalise(dict(target), (), env, secrets)
    for secret in secrets:
        _mask(secret)
    profiles = {name: {"target": target_name, "outputs": {target_name: output}} for name in profile_names}
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    path = folder / "profiles.yml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write("# Written by datacoves-airflow-provider for one task; removed with it.\n")
        handle.write(profile_document(profiles) + "\n")
    return WrittenProfile(folder=folder, adapter_type=str(target.get("type")), env=env)


def write_connection_profile(
    connection_id: str,
    *,
    folder: Path,
    profile_names: Sequence[str],
    target: str,
    overrides: Mapping[str, Any] | None = None,
) -> WrittenProfile:
    """Read Airflow connection ``connection_id`` and write a dbt profile for it into ``folder``.

    :param connection_id: the Airflow connection.
    :param folder: where profiles.yml is written (private; remove it with the task).
    :param profile_names: the profile names to write (the first is the main one).
    :param target: the target name.
    :param overrides: profile fields applied on top of the connection's.
    """
    from datacoves_airflow_provider.compat import AirflowNotFoundException, BaseHook

    check_overrides(overrides, task_id=None)
    try:
        conn = BaseHook.get_connection(connection_id)
    except AirflowNotFoundException:
        raise DbtProfileError(
            f"Connection {connection_id!r} does not exist: create it (Admin > Connections, an "
            f"AIRFLOW_CONN_{connection_id.upper()} variable, or your secrets backend), or fix connection_id"
        ) from None
    return write_profile(
        build_target(conn, overrides), folder=folder, profile_names=profile_names, target_name=target
    )


# -- checking overrides at parse time -----------------------------------------------------------


def _is_template(value: object) -> bool:
    return isinstance(value, str) and bool(_JINJA.search(value))


def _shown(value: object, secret: bool) -> str:
    """``value`` for an error message: its repr, cut short; never under a secret field."""
    return "value not shown: a secret field" if secret else f"{value!r:.80}"


def _check_value(value: object, where: str, owner: str, secret: bool) -> None:
    if value is None:
        raise ValueError(f"{owner}{where} is None; give it a value or leave the key out")
    if isinstance(value, (str, int, float, bool)):
        return
    if isinstance(value, list):
        for i, item in enumerate(value):
            _check_value(item, f"{where}[{i}]", owner, secret)
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{owner}{where} has a non-string key {key!r}")
            _check_value(item, f"{where}[{key!r}]", owner, secret or key in SECRET_FIELDS)
        return
    raise TypeError(
        f"{owner}{where} is a {type(value).__name__} ({_shown(value, secret)}); profile values must be "
        "strings, numbers, booleans, or lists/dicts of them"
    )


def check_overrides(overrides: object, *, task_id: str | None) -> None:
    """Check ``overrides`` as written in the DAG, so a mistake fails the DAG parse, not the run.

    :param overrides: the ``overrides`` argument (templates and XComArgs are checked at run time).
    :param task_id: named in the messages.
    """
    owner = f"Task {task_id!r}: overrides" if task_id else "overrides"
    if overrides is None or _is_template(overrides) or hasattr(overrides, "resolve"):
        return
    if not isinstance(overrides, Mapping):
        raise TypeError(
            f"{owner} must be a dict of dbt profile fields, e.g. {{'warehouse': 'big_wh'}}; "
            f"got {type(overrides).__name__}"
        )
    for key, value in overrides.items():
        if not isinstance(key, str) or not key.strip():
            raise TypeError(f"{owner} has an invalid field name {key!r}; use dbt profile field names")
        if key == "type":
            raise ValueError(
                f"{owner} cannot change the adapter 'type'; use a connection of the type you want"
            )
        secret = key in SECRET_FIELDS
        _check_value(value, f"[{key!r}]", owner, secret)
        if key in _SCALAR_FIELDS and isinstance(value, (list, dict)):
            raise TypeError(
                f"{owner}[{key!r}] must be a single value, "
                f"got {type(value).__name__} ({_shown(value, secret)})"
            )
        if key == "threads" and not _is_template(value):
            ok = (isinstance(value, int) and not isinstance(value, bool) and value > 0) or (
                isinstance(value, str) and value.strip().isdigit() and int(value) > 0
            )
            if not ok:
                raise ValueError(f"{owner}['threads'] must be a positive whole number, got {value!r}")
