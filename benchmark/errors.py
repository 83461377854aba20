"""User errors: what a user can fix, said in one line.

Every error a user can cause (a bad name, option, file or folder) derives from `BenchmarkError`,
so the CLI catches them by type and prints ``error: <message>`` instead of a traceback. This module
imports nothing, so the lightest command (``--help``, ``ls``, ``plot``) can catch them.
"""

from __future__ import annotations


class BenchmarkError(Exception):
    """Something the user can fix; the message says what is wrong and how to fix it."""


class UnknownNameError(BenchmarkError, KeyError):
    """An unknown registry name; the message lists near matches and all known names."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain sentence
        return str(self.args[0])


class ConfigError(BenchmarkError, ValueError):
    """An option or override has a wrong name, type or value."""


class DataError(BenchmarkError):
    """A dataset could not be found, read, verified or downloaded."""


class DataDirError(DataError):
    """No data directory was given, or the one given does not exist."""


class DataFileError(DataError):
    """A dataset file is missing, unreadable, malformed or not the expected release."""


class FetchError(DataError):
    """Downloading or verifying a dataset release failed."""


class ModelLoadError(BenchmarkError):
    """A model cannot be loaded; the message says how to fix it."""


class UnsupportedModelError(BenchmarkError, ValueError):
    """A method cannot be applied to this model family; the message says why."""


class ReportError(BenchmarkError):
    """A report (table or figure) cannot be made from the results given."""


class ResultsError(BenchmarkError):
    """A results folder or CSV cannot be read or written as needed."""
