"""The project's secondary secrets backend: the class and kwargs the Airflow variable
``datacoves-secondary-secret`` names, asked before the Datacoves secrets manager on a platform
worker (see :mod:`datacoves_airflow_provider.secrets.datacoves`)."""

from __future__ import annotations

import json
import logging
from typing import Any

__all__ = ["SECONDARY_SECRET_VARIABLE", "load_secondary_backend"]

log = logging.getLogger(__name__)

#: The variable describing the project's secondary backend.
SECONDARY_SECRET_VARIABLE = "datacoves-secondary-secret"


def load_secondary_backend(raw: str, own_class: type) -> Any:
    """Start the backend ``datacoves-secondary-secret`` describes
    (``{"backend": "<dotted class path>", "backend_config": {...}}``).

    :param raw: the variable's value, stripped and not empty.
    :param own_class: the backend asking, which the variable may not name.
    :raises SecretsLookupRefused: the variable cannot be used (the reason, never its values).
    """
    import importlib

    from datacoves_airflow_provider.compat import SecretsLookupRefused, mask_secret

    example = (
        '{"backend": "airflow.providers.amazon.aws.secrets.secrets_manager.SecretsManagerBackend", '
        '"backend_config": {"region_name": "us-east-1"}}'
    )

    def refuse(problem: str) -> SecretsLookupRefused:
        log.error("Datacoves secrets: the variable %s %s", SECONDARY_SECRET_VARIABLE, problem)
        return SecretsLookupRefused(
            f"the Airflow variable {SECONDARY_SECRET_VARIABLE} (the project's secondary secrets backend, "
            f"asked first) {problem}: set it to a JSON object such as {example}, or remove it"
        )

    try:
        spec = json.loads(raw)
    except (ValueError, RecursionError):
        raise refuse("is not valid JSON") from None
    if not isinstance(spec, dict):
        raise refuse(f"is a JSON {type(spec).__name__}, not an object")
    path, config = spec.get("backend"), spec.get("backend_config", {})
    unknown = sorted(str(key) for key in spec if key not in ("backend", "backend_config"))
    if unknown:
        raise refuse(f"has keys other than backend and backend_config ({', '.join(unknown)})")
    if not isinstance(path, str) or "." not in path.strip():
        raise refuse("has no 'backend' naming a class by its dotted path")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise refuse("has a 'backend_config' that is not a JSON object of the class's keyword arguments")
    mask_secret(config)  # the values of keys Airflow finds sensitive (secret keys, passwords)
    module_name, _, class_name = path.strip().rpartition(".")
    try:
        cls = getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as exc:
        raise refuse(f"names the backend {path!r}, which cannot be imported ({type(exc).__name__})") from None
    if not isinstance(cls, type) or not callable(getattr(cls, "get_variable", None)):
        raise refuse(f"names {path!r}, which is not a secrets backend class")
    if issubclass(cls, own_class):
        raise refuse(f"names {path!r}, this backend itself")
    try:
        backend = cls(**config)
    except TypeError as exc:
        raise refuse(f"gives {path!r} keyword arguments it does not take ({exc})") from None
    except Exception as exc:
        raise refuse(f"names {path!r}, which failed to start: {type(exc).__name__}") from None
    log.info("Datacoves secrets: the secondary backend %s is asked first", path)
    return backend
