"""The provider's error family: every error the package raises derives from :class:`DatacovesError`.

Each error keeps the builtin base it always had (``ValueError`` for a setting or argument that
cannot work, ``RuntimeError`` for a service or step that failed), so ``except ValueError`` in a
user's code still catches it; ``except DatacovesError`` catches all of them. The classes live beside
the code that raises them (``DbtProfileError`` in ``dbt/profiles``, ``DestinationError`` in
``data_sync/destinations``, ...); this module imports nothing, so any module may import it.
"""

from __future__ import annotations


class DatacovesError(Exception):
    """Base of every error this package raises; the message names what to change."""


class InvalidArgumentError(DatacovesError, ValueError):
    """An argument or setting has a value that cannot work (checked when the DAG is parsed where
    possible); the message names the parameter and the fix."""


class InvalidArgumentTypeError(DatacovesError, TypeError):
    """An argument has the wrong type; the message names the parameter and the type it takes."""
