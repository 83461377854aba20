"""Original dataset files -> plain examples. Loaders know nothing of methods or models.

A dataset is one module in this package: its loaders, content hash, version, metric and
``DATASET = DatasetSpec(...)`` with one line ``REGISTER = {"name": ("DATASET", "summary")}``,
which `DATASETS` finds by reading the file (no import).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from benchmark.errors import DataDirError
from benchmark.registry import Registry

DATASETS: Registry = Registry("dataset", discover=__name__)
DATA_DIR_ENV = "BENCHMARK_DATA_DIR"


@dataclass(frozen=True)
class Example:
    """One input with all of its references.

    Test/dev examples carry every reference of their input (multi-reference scoring); training pairs
    carry exactly one.
    """

    source: str  # linearised input, e.g. "name : The Vaults | Type : pub"
    references: tuple[str, ...]


def training_pairs(examples: list[Example]) -> list[Example]:
    """Expand grouped examples into one (source, reference) pair per reference, order kept."""
    return [Example(ex.source, (ref,)) for ex in examples for ref in ex.references]


def resolve_data_dir(flag: str | os.PathLike[str] | None) -> Path:
    """The data directory: the `--data-dir` flag, else `$BENCHMARK_DATA_DIR`.

    The directory holds one folder per dataset (`e2e/trainset.csv`, ...). A relative path is
    resolved against the working directory here, once, so that everything downstream (file URIs,
    symlinks, subprocesses in other folders) sees an absolute path.

    Raises:
        DataDirError: neither is set, or the directory does not exist.
    """
    if flag is not None and str(flag) != "":
        path, origin = Path(flag).expanduser(), "--data-dir"
    elif os.environ.get(DATA_DIR_ENV):
        path, origin = Path(os.environ[DATA_DIR_ENV]).expanduser(), DATA_DIR_ENV
    else:
        raise DataDirError(
            "no data directory: pass --data-dir DIR or set BENCHMARK_DATA_DIR=DIR "
            "(DIR holds e2e/trainset.csv, ...; `python -m benchmark fetch e2e` downloads it)"
        )
    if not path.is_dir():
        raise DataDirError(
            f"data directory {path} (from {origin}) does not exist or is not a folder"
        )
    return path.resolve()
