"""Dataset registry entries: how to load a dataset, score outputs on it, and write references."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.data import Example
from benchmark.data import e2e as e2e_data
from benchmark.registry import DATASETS


@dataclass(frozen=True)
class DatasetSpec:
    load: Callable[[Path, str], list[Example]]  # grouped: one example per input, all references
    load_pairs: Callable[[Path, str], list[Example]]  # one (source, reference) pair per row
    content_hash: Callable[[Path, str], str]
    version: str
    score: Callable[[list[str], list[list[str]]], dict[str, Any]]
    scorer_provenance: Callable[[], dict[str, str]]
    write_references: Callable[[Path, list[list[str]]], None]
    metrics: tuple[str, ...]
    train_split: str = "train"
    dev_split: str = "dev"


def _e2e_score(hypotheses: list[str], references: list[list[str]]) -> dict[str, Any]:
    from benchmark.metrics import score_e2e  # Java/METEOR set-up is only paid when scoring

    return score_e2e(hypotheses, references)


def _e2e_provenance() -> dict[str, str]:
    from benchmark.metrics import e2e_provenance

    return e2e_provenance()


def _e2e_write_references(path: Path, references: list[list[str]]) -> None:
    from benchmark.metrics import write_e2e_references

    write_e2e_references(path, references)


DATASETS.register(
    "e2e",
    DatasetSpec(
        load=e2e_data.load_e2e,
        load_pairs=e2e_data.load_e2e_pairs,
        content_hash=e2e_data.content_hash,
        version=f"e2e-original-v{e2e_data.E2E_VERSION}",
        score=_e2e_score,
        scorer_provenance=_e2e_provenance,
        write_references=_e2e_write_references,
        metrics=("bleu", "nist", "meteor", "rouge_l", "cider"),
    ),
    "E2E NLG (Novikova et al. 2017), original release; BLEU NIST METEOR ROUGE-L CIDEr",
)
