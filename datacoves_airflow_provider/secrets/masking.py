"""Registering a secret's value, and each of its parts, with Airflow's secrets masker."""

from __future__ import annotations

from typing import Any

__all__ = ["mask_secret_parts"]


def mask_secret_parts(value: Any) -> None:
    """Register a secret with Airflow's secrets masker: the whole value, and each of its parts that
    could be shown on its own: every leaf of a document (a dict's values at any depth, whatever the
    keys are called; Airflow itself masks only the values of "sensitive" keys such as ``password``)
    and every line of a multi-line text (a PEM key's body lines). Parts shorter than
    :func:`~datacoves_airflow_provider.compat.min_masked_secret_length` are not registered
    (:func:`~datacoves_airflow_provider.compat.mask_secret` skips them): they are not secret, and
    masking them would garble logs.

    :param value: a secret's value: text, or a parsed JSON document.
    """
    from datacoves_airflow_provider.compat import mask_secret

    if isinstance(value, str):
        mask_secret(value)  # the whole text: Airflow's masker applies its own rules to it
    registered: set[str] = set()
    pending = [value]
    while pending:  # a loop, not recursion: a document may nest deeply
        item = pending.pop()
        if isinstance(item, dict):
            pending.extend(item.values())
            continue
        if isinstance(item, (list, tuple)):
            pending.extend(item)
            continue
        if item is None or isinstance(item, bool):
            continue
        text = item if isinstance(item, str) else str(item)
        for part in (text.strip(), *(line.strip() for line in text.splitlines())):
            if part not in registered:
                registered.add(part)
                mask_secret(part)
