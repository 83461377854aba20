"""What the runner needs of a dataset: `DatasetSpec` (loaders, hash, version, scorer, metrics).

Scorers import lazily inside each dataset module, so that Java/METEOR set-up is only paid when a
run scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.data import Example

# (hypotheses, references, data_dir, eval split) -> metric cells
Scorer = Callable[[list[str], list[list[str]], Path, str], dict[str, Any]]


@dataclass(frozen=True)
class DatasetSpec:
    load: Callable[[Path, str], list[Example]]  # grouped: one example per input, all references
    load_pairs: Callable[[Path, str], list[Example]]  # one (source, reference) pair per row
    content_hash: Callable[[Path, str], str]
    version: str
    score: Scorer
    scorer_provenance: Callable[[], dict[str, str]]
    metrics: tuple[str, ...]
    train_split: str = "train"
    dev_split: str = "dev"
    # which inputs of the eval split a run limited to N inputs scores (None: the first N)
    eval_indices: Callable[[Path, int], list[int]] | None = None
    # `python -m benchmark fetch <name>`: download and verify the files into a data dir (None: the
    # dataset has no downloader); returns the verified paths
    fetch: Callable[[Path], list[Path]] | None = None

    def limit_eval(self, data_dir: Path, examples: list[Example], limit: int | None) -> list:
        """The eval examples a run scores: all, the first `limit`, or the dataset's own choice."""
        if limit is None:
            return examples
        if self.eval_indices is None:
            return examples[:limit]
        return [examples[i] for i in self.eval_indices(data_dir, limit)]

    def write_references(self, path: Path, references: list[list[str]]) -> None:
        """All references in the e2e-metrics multi-reference layout (blank line between inputs)."""
        from benchmark.metrics import write_e2e_references

        write_e2e_references(path, references)
