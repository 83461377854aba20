"""Errors raised by the data loaders.

Each one carries a single sentence saying what is wrong and how to fix it, so that the CLI can
print `str(error)` as one line instead of a traceback.
"""

from __future__ import annotations


class DataError(RuntimeError):
    """A dataset could not be found, read, verified or downloaded."""


class DataDirError(DataError):
    """No data directory was given, or the one given does not exist."""


class DataFileError(DataError):
    """A dataset file is missing, unreadable, malformed or not the expected release."""


class FetchError(DataError):
    """Downloading or verifying a dataset release failed."""
