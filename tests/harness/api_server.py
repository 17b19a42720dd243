"""The reference Datacoves API server (``datacoves_airflow_provider.testing.datacoves_api_server``),
in its own process on 127.0.0.1: the public v3 API, and with tokens the platform's internal routes."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.network import free_port, wait_for_port

#: Tokens of the reference server's platform routes, as the platform hands them to a worker.
DBT_API_TOKEN = "dbt-api-token-7f3a9c51e2"
MANIFEST_TOKEN = "manifest-token-4b8d2e6f90"


@dataclass
class ApiServer:
    """The reference dbt API server, running in its own process on 127.0.0.1."""

    url: str
    token: str
    data_dir: Path

    def requests(self) -> list[dict]:
        log = self.data_dir / "requests.log"
        return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []

    def env(self, **overrides: str) -> dict[str, str]:
        """The variables Datacoves sets on a worker when the dbt API is enabled."""
        return {
            "DATACOVES__API_ENDPOINT": self.url,
            "DATACOVES__API_TOKEN": self.token,
            "DATACOVES__ACCOUNT_ID": "acme",
            "DATACOVES__PROJECT_SLUG": "analytics",
            "DATACOVES__ENVIRONMENT_SLUG": "env123",
            **overrides,
        }


@contextlib.contextmanager
def running_datacoves_api_server(
    data_dir: Path, *extra_args: str, token: str = "test-token-1234567890"
) -> Iterator[ApiServer]:
    """The reference server on a free port, storing in ``data_dir``; stopped afterwards.

    :param data_dir: where the server keeps files and ``requests.log`` (created by the server).
    :param extra_args: more command-line arguments (``--secrets-file``, ``--dbt-api-token`` ...).
    :param token: the v3 API's bearer token.
    """
    port = free_port()
    log = data_dir.parent / f"{data_dir.name}.out"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "datacoves_airflow_provider.testing.datacoves_api_server",
                "--port",
                str(port),
                "--data-dir",
                str(data_dir),
                "--token",
                token,
                *extra_args,
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, 30, proc, log)
        yield ApiServer(f"http://127.0.0.1:{port}", token, data_dir)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@dataclass
class PlatformApiServer(ApiServer):
    """The reference server with the platform's internal dbt API and manifest routes enabled."""

    dbt_api_token: str = DBT_API_TOKEN
    manifest_token: str = MANIFEST_TOKEN

    def platform_env(self, **overrides: str) -> dict[str, str]:
        """What a Datacoves worker has for the dbt API and manifest upload (PLATFORM.md §1, §3, §4),
        the token Variable included (as the platform delivers it: an environment variable)."""
        return {
            "DATACOVES__DBT_API_URL": self.url,
            "DATACOVES__PROJECT_SLUG": "analytics",
            "DATACOVES__ENVIRONMENT_SLUG": "env123",
            "DATACOVES__AIRFLOW_TYPE": "team_airflow",
            "AIRFLOW_VAR_DATACOVES-DBT-API-SECRET": self.dbt_api_token,
            "DATACOVES__UPLOAD_MANIFEST": "true",
            "DATACOVES__UPLOAD_MANIFEST_URL": f"{self.url}/api/internal/manifests",
            "DATACOVES__UPLOAD_MANIFEST_TOKEN": self.manifest_token,
            **overrides,
        }


@contextlib.contextmanager
def running_platform_api_server(data_dir: Path) -> Iterator[PlatformApiServer]:
    """The reference server with ``--dbt-api-token`` and ``--manifest-token``.

    :param data_dir: where the server keeps files and ``requests.log``.
    """
    with running_datacoves_api_server(
        data_dir, "--dbt-api-token", DBT_API_TOKEN, "--manifest-token", MANIFEST_TOKEN
    ) as server:
        yield PlatformApiServer(server.url, server.token, server.data_dir)
