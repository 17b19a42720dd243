"""Legacy-style path: ``from notifiers.datacoves.slack import SlackNotifier``."""

from datacoves_airflow_provider.notifiers.slack import (
    SlackNotifier,
    inform_failure,
    inform_retry,
    inform_sla_miss,
    inform_success,
)

__all__ = ["SlackNotifier", "inform_failure", "inform_retry", "inform_sla_miss", "inform_success"]
