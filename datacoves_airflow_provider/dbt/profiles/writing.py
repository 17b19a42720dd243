"""Writing a dbt profile with no secret on disk, and registering the secrets with the masker."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datacoves_airflow_provider.dbt.profiles.base import DbtProfileError
from datacoves_airflow_provider.dbt.profiles.overrides import JINJA, check_overrides
from datacoves_airflow_provider.dbt.profiles.registry import SECRET_FIELDS
from datacoves_airflow_provider.dbt.profiles.target import build_target

DEFAULT_PROFILE_NAME = "default"
DEFAULT_TARGET_NAME = "default"


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
    elif isinstance(value, str) and JINJA.search(value):
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
