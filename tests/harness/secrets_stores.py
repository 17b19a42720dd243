"""The secrets planted for the secrets backend's tests: the Datacoves secrets API's entries (served
by the reference server) and AWS Secrets Manager's (moto's server behind a proxy that counts calls)."""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from harness.api_server import ApiServer, running_datacoves_api_server

PROJECT, ENVIRONMENT = "analytics", "env123"
PEM = (
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCpemline1\n"
    "BKcwggSjAgEAAoIBAQC7VJTUt9Us8cKjpemline2\n"
    "-----END PRIVATE KEY-----\n"
)
PEM2 = PEM.replace("pemline", "pairline")
SECRETS = [
    {
        "slug": "datacoves-mayras_secret",
        "format": "key_value",
        "value": "dc-value-4821",
        "project": PROJECT,
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-settings",
        "format": "json",
        "value": {"threads": 8, "tags": ["a", "b"]},
        "project": PROJECT,
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-warehouse",
        "format": "multiple_key_value",
        "value": {
            "conn_type": "postgres",
            "host": "db.internal",
            "login": "loader",
            "password": "dc-conn-pass-77",
            "schema": "raw",
        },
        "project": PROJECT,
        "environment": ENVIRONMENT,
    },
    {"slug": "datacoves-shared", "format": "key_value", "value": "project-level", "project": PROJECT},
    {"slug": "datacoves-scoped", "format": "key_value", "value": "project-level", "project": PROJECT},
    {
        "slug": "datacoves-scoped",
        "format": "key_value",
        "value": "environment-level",
        "project": PROJECT,
        "environment": ENVIRONMENT,
    },
    {
        "slug": "datacoves-private",
        "format": "key_value",
        "value": "nope",
        "project": PROJECT,
        "shared_with_stack_services": False,
    },
    {"slug": "datacoves-both", "format": "key_value", "value": "from-datacoves", "project": PROJECT},
    # keys whose names Airflow does not find "sensitive", and short values that are not secret
    {
        "slug": "datacoves-api_creds",
        "format": "multiple_key_value",
        "value": {"pw": "pw-value-5521", "apitok": "tok-value-8830", "region": "eu", "n": "1234"},
        "project": PROJECT,
    },
    {
        "slug": "datacoves-nested",
        "format": "json",
        "value": {
            "threads": 8,
            "accounts": [{"name": "main", "key": {"k": "nested-leaf-4417"}}],
            "pin": 90817,
        },
        "project": PROJECT,
    },
    {
        "slug": "datacoves-odd_conn",
        "format": "json",
        "value": {"conn_type": "http", "host": "odd-host-3391", "extra": {"apitok": "extra-tok-6602"}},
        "project": PROJECT,
    },
    {"slug": "datacoves-pem", "format": "key_value", "value": PEM, "project": PROJECT},
    {
        "slug": "datacoves-pem_in_pairs",
        "format": "multiple_key_value",
        "value": {"k": PEM2},
        "project": PROJECT,
    },
]
AWS_SECRETS = {
    "airflow/variables/aws_my_secret": "aws-value-9137",
    "airflow/variables/plain_var": "should-never-be-read",
    "airflow/variables/datacoves-both": "from-aws",
    "airflow/connections/aws_warehouse": json.dumps(
        {"conn_type": "postgres", "host": "aws-db", "login": "u", "password": "aws-conn-pass-55"}
    ),
}


class CountingProxy(ThreadingHTTPServer):
    """Forwards every request to moto's server and counts Secrets Manager calls by operation."""

    def __init__(self, upstream: str) -> None:
        super().__init__(("127.0.0.1", 0), _ProxyHandler)
        self.upstream = urlsplit(upstream)
        self.calls: list[str] = []
        self.url = f"http://127.0.0.1:{self.server_address[1]}"


class _ProxyHandler(BaseHTTPRequestHandler):
    server: CountingProxy

    def log_message(self, format, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        target = self.headers.get("X-Amz-Target", "")
        name = json.loads(body or b"{}").get("SecretId", "")
        self.server.calls.append(f"{target.rpartition('.')[2]} {name}")
        upstream = http.client.HTTPConnection(
            self.server.upstream.hostname, self.server.upstream.port, timeout=30
        )
        upstream.request(
            "POST", self.path, body, {k: v for k, v in self.headers.items() if k.lower() != "host"}
        )
        response = upstream.getresponse()
        payload = response.read()
        self.send_response(response.status)
        for key, value in response.getheaders():
            if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def aws_kwargs(proxy: CountingProxy, pattern: str = "^aws_") -> dict:
    """``aws_secrets_manager`` settings of our backend that reach moto through ``proxy``."""
    return {
        "variables_lookup_pattern": pattern,
        "connections_lookup_pattern": pattern,
        "region_name": "us-east-1",
        "endpoint_url": proxy.url,
        "aws_access_key_id": "t",
        "aws_secret_access_key": "t",
    }


def secrets_requests(api: ApiServer) -> list[str]:
    """The secret names the reference server was asked for, in order."""
    return [r["path"].rsplit("/", 1)[-1] for r in api.requests() if "/secrets/" in r["path"]]


@contextlib.contextmanager
def counting_aws_secrets(moto_url: str) -> Iterator[CountingProxy]:
    """:data:`AWS_SECRETS` created in moto's server at ``moto_url``, and a counting proxy in front of it.

    :param moto_url: moto's endpoint (:func:`harness.warehouses.running_moto_server`).
    """
    import boto3

    client = boto3.client(
        "secretsmanager",
        endpoint_url=moto_url,
        region_name="us-east-1",
        aws_access_key_id="t",
        aws_secret_access_key="t",
    )
    for name, value in AWS_SECRETS.items():
        client.create_secret(Name=name, SecretString=value)
    proxy = CountingProxy(moto_url)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    try:
        yield proxy
    finally:
        proxy.shutdown()


@contextlib.contextmanager
def running_secrets_api(folder: Path) -> Iterator[ApiServer]:
    """The reference server serving :data:`SECRETS`; files in ``folder``.

    :param folder: an empty folder.
    """
    (folder / "secrets.json").write_text(json.dumps(SECRETS))
    with running_datacoves_api_server(
        folder / "data", "--secrets-file", str(folder / "secrets.json")
    ) as server:
        yield server
