"""Dataset registry entries: how to load a dataset, score outputs on it, and write references.

Scorers import lazily, so that Java/METEOR set-up is only paid when a run scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmark.data import Example
from benchmark.data import dart as dart_data
from benchmark.data import e2e as e2e_data
from benchmark.data import webnlg as webnlg_data
from benchmark.data import xsum as xsum_data
from benchmark.registry import DATASETS

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


def _score_e2e(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics import score_e2e

    return score_e2e(hyps, refs)


def _e2e_provenance() -> dict[str, str]:
    from benchmark.metrics import e2e_provenance

    return e2e_provenance()


def _score_webnlg(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.webnlg import score_webnlg

    if split != "test":
        raise ValueError("WebNLG is scored per seen/unseen category on the test split only")
    mask = webnlg_data.webnlg_seen_mask(data_dir)
    # a limited run scored `webnlg_eval_indices(data_dir, N)` (half seen, half unseen)
    seen = [mask[i] for i in webnlg_data.webnlg_eval_indices(data_dir, len(hyps))]
    return score_webnlg(hyps, refs, seen)


def _webnlg_provenance() -> dict[str, str]:
    from benchmark.metrics.webnlg import webnlg_provenance

    return webnlg_provenance()


def _score_dart(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.webnlg import score_dart

    return score_dart(hyps, refs)


def _dart_provenance() -> dict[str, str]:
    from benchmark.metrics.webnlg import dart_provenance

    return dart_provenance()


def _score_xsum(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.rouge import score_xsum

    return score_xsum(hyps, refs)


def _xsum_provenance() -> dict[str, str]:
    from benchmark.metrics.rouge import xsum_provenance

    return xsum_provenance()


DATASETS.register(
    "e2e",
    DatasetSpec(
        load=e2e_data.load_e2e,
        load_pairs=e2e_data.load_e2e_pairs,
        content_hash=e2e_data.content_hash,
        version=f"e2e-original-v{e2e_data.E2E_VERSION}",
        score=_score_e2e,
        scorer_provenance=_e2e_provenance,
        metrics=("bleu", "nist", "meteor", "rouge_l", "cider"),
    ),
    "E2E NLG (Novikova et al. 2017), original release; BLEU NIST METEOR ROUGE-L CIDEr",
)
DATASETS.register(
    "webnlg",
    DatasetSpec(
        load=webnlg_data.load_webnlg,
        load_pairs=webnlg_data.load_webnlg_pairs,
        content_hash=webnlg_data.content_hash,
        version=f"webnlg2017-{webnlg_data.WEBNLG_VERSION}",
        score=_score_webnlg,
        scorer_provenance=_webnlg_provenance,
        metrics=tuple(
            f"{m}_{s}" for m in ("bleu", "meteor", "ter") for s in ("seen", "unseen", "all")
        ),
        eval_indices=webnlg_data.webnlg_eval_indices,
    ),
    "WebNLG 2017 challenge XML; BLEU METEOR TER on seen / unseen / all categories",
)
DATASETS.register(
    "dart",
    DatasetSpec(
        load=dart_data.load_dart,
        load_pairs=dart_data.load_dart_pairs,
        content_hash=dart_data.content_hash,
        version=f"dart-v1.1.1-{dart_data.DART_VERSION}",
        score=_score_dart,
        scorer_provenance=_dart_provenance,
        metrics=("bleu", "meteor", "ter", "moverscore", "bertscore", "bleurt"),
    ),
    "DART v1.1.1 (train needs `fetch`); BLEU METEOR TER (+ model metrics when installed)",
)
DATASETS.register(
    "xsum",
    DatasetSpec(
        load=lambda d, s: list(xsum_data.load_xsum(d, s)),
        load_pairs=lambda d, s: list(xsum_data.load_xsum_pairs(d, s)),
        content_hash=xsum_data.content_hash,
        version=f"xsum-{xsum_data.XSUM_VERSION}",
        score=_score_xsum,
        scorer_provenance=_xsum_provenance,
        metrics=("rouge1", "rouge2", "rougeL"),
    ),
    "XSUM (official split ids; articles from a JSONL you provide or the hub); ROUGE-1/2/L",
)


# ACL Table 4 / v1 Table 3; names as in the paper table (reference CSV)
for _name, _setting in (("xsum-news2sports", "news-to-sports"), ("xsum-withinnews", "within-news")):
    DATASETS.register(
        _name,
        DatasetSpec(
            load=lambda d, s, setting=_setting: xsum_data.load_xsum_extrapolation(d, setting, s),
            load_pairs=lambda d, s, setting=_setting: xsum_data.load_xsum_extrapolation(
                d, setting, s
            ),
            content_hash=xsum_data.extrapolation_content_hash,
            version=f"xsum-{xsum_data.XSUM_VERSION}-{_setting}",
            score=_score_xsum,
            scorer_provenance=_xsum_provenance,
            metrics=("rouge1", "rouge2", "rougeL"),
        ),
        f"XSUM {_setting} extrapolation (topics from the BBC URL list); ROUGE-1/2/L",
    )
