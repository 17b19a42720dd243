"""From the docs (how-tos/airflow/dynamically-set-schedule): no schedule in the development environment."""

from __future__ import annotations

import os

DEV_ENVIRONMENT_SLUG = "dev123"  # Replace with your environment slug


def get_schedule(default_input: str | None) -> str | None:
    """The schedule for this environment: None in the development one, ``default_input`` elsewhere.

    :param default_input: the schedule outside the development environment.
    """
    env_slug = os.environ.get("DATACOVES__ENVIRONMENT_SLUG", "").lower()
    if env_slug == DEV_ENVIRONMENT_SLUG:
        return None
    return default_input
