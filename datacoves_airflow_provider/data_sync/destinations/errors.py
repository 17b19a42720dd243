"""The errors a destination raises, besides the driver's own (which it wraps in :class:`DestinationError`)."""

from __future__ import annotations

from datacoves_airflow_provider.exceptions import DatacovesError

__all__ = ["DestinationError", "UnmanagedTableError"]


class DestinationError(DatacovesError, RuntimeError):
    """The destination could not be reached or refused an operation; the message names the connection."""


class UnmanagedTableError(DatacovesError, ValueError):
    """A table the sync would replace or drop exists in the destination schema, and the sync did not
    create it."""
