"""A client for the dbt API routes a Datacoves worker calls inside the platform ("internal" routes).

These are the routes Datacoves' own provider uses from an Airflow worker (docs/running-on-datacoves.md)::

    GET    api/internal/projects/{project}/latest-manifest?trimmed=true|false    the project's manifest
    GET    api/internal/environments/{env}/files?filename=<name>                 latest file of that name
    GET    api/internal/environments/{env}/files?tag=<tag>                       the file with that tag
    POST   api/internal/environments/{env}/files       multipart files[<i>][tag], files[<i>][file]
    DELETE api/internal/environments/{env}/files       JSON body {"tag": <tag>}

The base URL is ``DATACOVES__DBT_API_URL`` (``DATACOVES__EXTERNAL_URL`` when
``DATACOVES__USE_EXTERNAL_URL`` is truthy); every call sends ``Authorization: Bearer <token>``, the
token being the Airflow Variable ``datacoves-dbt-api-secret``, read with Airflow's Variable API when
the client is configured (never at import) and given to the secrets masker at once. Reads reply
``{"data": {"contents": <text or JSON>}}`` or the raw file; both are written to disk as the file.

The calls are those of the public v3 client
(:class:`~datacoves_airflow_provider.dbt.api_transport.DbtApiTransport`): bounded, retried,
uploads streamed from disk, downloads streamed to disk.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

from datacoves_airflow_provider.dbt.api_transport import DbtApiSettingsClient
from datacoves_airflow_provider.environment import is_truthy
from datacoves_airflow_provider.exceptions import InvalidArgumentError
from datacoves_airflow_provider.http.datacoves_api import (
    DatacovesApiConfigError,
    _check_endpoint,
    token_hidden_in_repr,
)
from datacoves_airflow_provider.http.session import MultipartFileBody

__all__ = [
    "DBT_API_TOKEN_VARIABLE",
    "INTERNAL_PREFIX",
    "V2_PREFIX",
    "DbtPlatformApiClient",
    "DbtPlatformApiSettings",
    "is_truthy",
    "platform_api_url",
]

#: The Airflow Variable that holds the internal dbt API's bearer token.
DBT_API_TOKEN_VARIABLE = "datacoves-dbt-api-secret"
#: The route prefix the platform's provider uses, and the one the platform plans to replace it with.
INTERNAL_PREFIX = "api/internal"
V2_PREFIX = "api/v2/datacoves"


def platform_api_url(environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """The internal dbt API's base URL and the variable it came from, or None when the worker has none.

    ``DATACOVES__EXTERNAL_URL`` when ``DATACOVES__USE_EXTERNAL_URL`` is truthy, else
    ``DATACOVES__DBT_API_URL``.

    :param environ: the variables to read (default: ``os.environ``).
    """
    env = os.environ if environ is None else environ
    names = ("DATACOVES__EXTERNAL_URL",) if is_truthy(env.get("DATACOVES__USE_EXTERNAL_URL")) else ()
    for name in (*names, "DATACOVES__DBT_API_URL"):
        value = env.get(name, "").strip()
        if value:
            return value, name
    return None


@token_hidden_in_repr
@dataclass(frozen=True)
class DbtPlatformApiSettings:
    """Where the internal dbt API is, its token, and the project and environment to work on.

    :param url: the API's base URL.
    :param token: the bearer token (the Variable ``datacoves-dbt-api-secret``).
    :param project: the project slug (``DATACOVES__PROJECT_SLUG``).
    :param environment: the environment slug (``DATACOVES__ENVIRONMENT_SLUG``).
    :param url_source: the variable ``url`` came from.
    :param prefix: the route prefix, ``api/internal`` (default) or ``api/v2/datacoves``.
    """

    url: str
    token: str
    project: str
    environment: str
    url_source: str = "DATACOVES__DBT_API_URL"
    prefix: str = INTERNAL_PREFIX

    @property
    def base_url(self) -> str:
        """``url`` with the route prefix."""
        return f"{self.url.rstrip('/')}/{self.prefix}"

    @classmethod
    def from_environment(
        cls, environ: Mapping[str, str] | None = None, *, token: str | None = None
    ) -> DbtPlatformApiSettings:
        """Read the settings a Datacoves worker has; a missing or malformed one is a clear error.

        :param environ: the variables to read (default: ``os.environ``).
        :param token: the token (default: the Airflow Variable ``datacoves-dbt-api-secret``, read
            now and masked).
        :raises DatacovesApiConfigError: naming what to set.
        """
        from datacoves_airflow_provider.compat import get_variable, mask_secret

        env = os.environ if environ is None else environ
        found = platform_api_url(env)
        if found is None:
            raise DatacovesApiConfigError(
                "the platform's dbt API is not configured on this worker: set DATACOVES__DBT_API_URL "
                "(or DATACOVES__EXTERNAL_URL with DATACOVES__USE_EXTERNAL_URL=true)"
            )
        url, source = found
        _check_endpoint(url, source)
        missing = [
            n
            for n in ("DATACOVES__PROJECT_SLUG", "DATACOVES__ENVIRONMENT_SLUG")
            if not env.get(n, "").strip()
        ]
        if missing:
            raise DatacovesApiConfigError(
                f"{source} selects the platform's dbt API, but {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set: set {', '.join(missing)} "
                "(Datacoves sets them on every worker)"
            )
        if token is None:
            token = get_variable(DBT_API_TOKEN_VARIABLE)
        if token is None or not token.strip():
            raise DatacovesApiConfigError(
                f"{source} selects the platform's dbt API, but the Airflow Variable "
                f"{DBT_API_TOKEN_VARIABLE!r} "
                f"{'is empty' if token is not None else 'does not exist'}: create it with the environment's "
                f"dbt API token (Datacoves sets it when the dbt API is enabled for the environment; "
                f"e.g. AIRFLOW_VAR_{DBT_API_TOKEN_VARIABLE.upper()}), or choose another store with "
                "[datacoves] dbt_artifact_store"
            )
        token = token.strip()
        mask_secret(token)
        return cls(
            url=url,
            token=token,
            project=env["DATACOVES__PROJECT_SLUG"].strip(),
            environment=env["DATACOVES__ENVIRONMENT_SLUG"].strip(),
            url_source=source,
        )


class DbtPlatformApiClient(DbtApiSettingsClient[DbtPlatformApiSettings]):
    """A small, typed client for the internal routes above, with the v3 client's limits.

    :param settings: where the API is and which project and environment to use.
    :param session: a ``requests.Session`` to use (default: a new one with the retry policy).
    :param timeout: seconds per read of an attempt (connecting takes at most 5 s of it).
    :param retries: further attempts after the first.
    """

    def _where(self, settings: DbtPlatformApiSettings) -> dict[str, str]:
        return {
            "endpoint": settings.url,
            "url_source": settings.url_source,
            "token_source": f"the Airflow Variable {DBT_API_TOKEN_VARIABLE!r}",
        }

    @property
    def _files_url(self) -> str:
        return f"{self.base_url}/environments/{quote(self.settings.environment, safe='')}/files"

    def latest_manifest(self, destination: Path, *, trimmed: bool = False) -> bool:
        """``GET projects/{project}/latest-manifest`` into ``destination``; False on 404.

        :param destination: the local path to write.
        :param trimmed: ask for the trimmed manifest.
        """
        url = f"{self.base_url}/projects/{quote(self.settings.project, safe='')}/latest-manifest"
        return self._stream_to(url, destination, params={"trimmed": str(trimmed).lower()}, finish=_unwrap)

    def download(self, destination: Path, *, filename: str | None = None, tag: str | None = None) -> bool:
        """``GET environments/{env}/files`` by tag, or the latest file of a name, into ``destination``.

        False when the API has no such file (404, or a reply whose ``contents`` is null).

        :param destination: the local path to write.
        :param filename: the latest upload of this file name.
        :param tag: the file with this tag (wins over ``filename``).
        """
        if not tag and not filename:
            raise InvalidArgumentError("download needs a filename or a tag")
        params = {"tag": tag} if tag else {"filename": str(filename)}
        return self._stream_to(self._files_url, destination, params=params, finish=_unwrap)

    def upload(self, source: Path, *, tag: str, filename: str | None = None) -> None:
        """``POST environments/{env}/files``: one file as ``files[0][file]`` with ``files[0][tag]``.

        :param source: the local file (streamed from disk).
        :param tag: its tag.
        :param filename: the file name the part declares (default: ``source``'s name).
        """
        body = MultipartFileBody(
            {"files[0][tag]": tag},
            file_field="files[0][file]",
            filename=filename or source.name,
            path=source,
        )
        self._request(
            "POST",
            self._files_url,
            budget=self._transfer_budget(),
            data=body,
            headers={"Content-Type": body.content_type},
        )

    def delete(self, tag: str) -> bool:
        """``DELETE environments/{env}/files`` with ``{"tag": tag}``; False when there was no such file.

        :param tag: the tag of the file to delete.
        """
        return self._request("DELETE", self._files_url, json={"tag": tag}, missing_ok=True) is not None


def _unwrap(partial: Path, response: Any) -> bool:
    """Replace a ``{"data": {"contents": ...}}`` reply in ``partial`` by the contents (text as it is,
    JSON serialised); any other reply is the raw file and stays. False when ``contents`` is null.

    :param partial: the downloaded reply.
    :param response: the response (its ``Content-Type``).
    """
    kind = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        return True
    with partial.open("rb") as handle:
        if handle.read(1) != b"{":
            return True
    try:
        with partial.open("rb") as handle:
            document = json.load(handle)
    except (ValueError, RecursionError):
        return True  # not JSON after all: the raw file
    if not (
        isinstance(document, dict)
        and isinstance(document.get("data"), dict)
        and "contents" in document["data"]
    ):
        return True
    contents = document["data"]["contents"]
    if contents is None:
        return False
    if isinstance(contents, str):
        partial.write_text(contents, encoding="utf-8")
    else:
        partial.write_text(json.dumps(contents), encoding="utf-8")
    return True
