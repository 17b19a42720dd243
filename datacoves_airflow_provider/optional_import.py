"""Imports of optional dependencies: an import that fails names the extra that installs it.

Every module an extra of ``pyproject.toml`` provides is imported inside the function that needs it
(importing this package stays cheap), under :func:`requires_extra`::

    with requires_extra("aws"):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

so that a missing (or unimportable) provider or driver raises :class:`MissingExtraError`, whose
message ends with ``pip install 'datacoves-airflow-provider[aws]'``. The block holds only the
imports. tests/test_optional_imports.py runs every such site with its module missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from datacoves_airflow_provider.exceptions import DatacovesError

#: the distribution name, as ``pip install`` takes it
DISTRIBUTION = "datacoves-airflow-provider"


class MissingExtraError(DatacovesError, ImportError):
    """An optional dependency cannot be imported; the message names the extra that installs it.

    An ``ImportError`` (as the import's own error was): code that catches ``ImportError`` still
    catches it.
    """

    def __init__(self, extra: str, cause: ImportError) -> None:
        """
        :param extra: the extra of ``pyproject.toml`` that installs the missing module.
        :param cause: the ImportError the import raised.
        """
        self.extra = extra
        super().__init__(
            f"{cause}: an optional dependency of this package's {extra!r} extra; install it with "
            f"{install_command(extra)}",
            name=cause.name,
            path=cause.path,
        )


def install_command(extra: str) -> str:
    """The command that installs ``extra``, e.g. ``pip install 'datacoves-airflow-provider[aws]'``.

    :param extra: the extra's name.
    """
    return f"pip install '{DISTRIBUTION}[{extra}]'"


@contextmanager
def requires_extra(extra: str) -> Iterator[None]:
    """Turn an ``ImportError`` raised inside the block into a :class:`MissingExtraError` for ``extra``.

    :param extra: the extra of ``pyproject.toml`` that installs what the block imports.
    :raises MissingExtraError: an import in the block failed.
    """
    try:
        yield
    except MissingExtraError:
        raise
    except ImportError as exc:
        raise MissingExtraError(extra, exc) from exc
