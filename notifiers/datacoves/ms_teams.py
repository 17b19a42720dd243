"""Legacy path: ``from notifiers.datacoves.ms_teams import MSTeamsNotifier``."""

from datacoves_airflow_provider.notifiers.ms_teams import (
    MSTeamsNotifier,
    inform_failure,
    inform_retry,
    inform_sla_miss,
    inform_success,
)

__all__ = ["MSTeamsNotifier", "inform_failure", "inform_retry", "inform_sla_miss", "inform_success"]
