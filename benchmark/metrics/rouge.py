"""XSUM ROUGE-1/2/L as the paper computes it: Google's `rouge-score` package, stemmed, F-measure.

Strings in, numbers out, x100 (the paper's scale). What the anchor does (implementation notes D.4,
R36): `rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)` on the decoded,
stripped texts, no sentence splitting (`rougeL`, not `rougeLsum`); rouge-score lower-cases, maps
every non-[a-z0-9] character to a space and Porter-stems tokens longer than 3 characters.

* Default: the mean F-measure over the corpus (every instance weighs the same).
* ``bootstrap=True``: `scoring.BootstrapAggregator` (1,000 resamples) and its ``mid`` F-measure, as
  the anchor's `calculate_rouge` reports; the resampling is seeded (`seed`) so that a rerun gives
  the same number, and numpy's global random state is restored afterwards.
* ``bootstrap=True, batch_size=N``: the anchor's actual test number -- `calculate_rouge` per
  evaluation batch of N outputs, then the plain mean of the per-batch values (notes D.4). The
  anchor also rounds each batch value to 4 decimals; this does not (a <= 5e-5 difference).

The paper's FINE-TUNE XSUM row was copied from the BART paper (files2rouge, ROUGE-1.5.5); rows
scored here are not comparable to it to within a few tenths (notes D.4).

Usage:
    from benchmark.metrics.rouge import score_xsum
    score_xsum(predictions, [ex.references[0] for ex in test])   # {'rouge1': .., 'rouge2': .., 'rougeL': ..}
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

import numpy as np
from rouge_score import rouge_scorer, scoring

# Bump whenever a number could change for the same strings; every result row records it.
ROUGE_METRICS_VERSION = "rouge-score-1"
ROUGE_TYPES = ("rouge1", "rouge2", "rougeL")  # paper Table 3 columns, R-L
USE_STEMMER = True  # anchor seq2seq/utils.py calculate_rouge (notes D.4)
BOOTSTRAP_SAMPLES = 1_000  # BootstrapAggregator default, which the anchor uses
SCORER = "rouge-score RougeScorer(rouge1, rouge2, rougeL, use_stemmer=True), F-measure x100"


def score_xsum(
    hypotheses: Sequence[str],
    references: Sequence[str] | Sequence[Sequence[str]],
    bootstrap: bool = False,
    batch_size: int | None = None,
    seed: int = 0,
) -> dict[str, float]:
    """ROUGE-1/2/L F-measure x100 of `hypotheses` against one reference each.

    Args:
        hypotheses: one generated summary per article.
        references: one reference per article, as a string or a one-element list (the
            `Example.references` layout).
        bootstrap: report BootstrapAggregator's mid instead of the plain mean.
        batch_size: with `bootstrap`, aggregate per consecutive batch of this many and average the
            batch values (the anchor's per-batch evaluation); without it, one aggregation.
        seed: seeds the bootstrap resampling (unused without `bootstrap`).

    Returns:
        ``{"rouge1", "rouge2", "rougeL"}`` on a 0-100 scale.

    Raises:
        ValueError / TypeError: mismatched or empty inputs, or several references for an input.
    """
    refs = _single_references(references)
    if isinstance(hypotheses, str):
        raise TypeError("hypotheses must be a list of strings, not a single string")
    if len(hypotheses) != len(refs):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(refs)} references")
    if not hypotheses:
        raise ValueError("nothing to score: no hypotheses")
    if batch_size is not None and (not bootstrap or batch_size < 1):
        raise ValueError(
            "batch_size is the anchor's per-batch bootstrap: needs bootstrap=True, >= 1"
        )
    scorer = rouge_scorer.RougeScorer(list(ROUGE_TYPES), use_stemmer=USE_STEMMER)
    # The anchor strips decoded texts; rouge-score's argument order is (target, prediction).
    per_instance = [
        scorer.score(ref.strip(), hyp.strip()) for hyp, ref in zip(hypotheses, refs, strict=True)
    ]
    if not bootstrap:
        return {
            name: 100.0 * float(np.mean([scores[name].fmeasure for scores in per_instance]))
            for name in ROUGE_TYPES
        }
    size = batch_size or len(per_instance)
    batches = [per_instance[start : start + size] for start in range(0, len(per_instance), size)]
    state = np.random.get_state()
    np.random.seed(seed)  # BootstrapAggregator resamples with numpy's global generator
    try:
        batch_values = [_bootstrap_mid(batch) for batch in batches]
    finally:
        np.random.set_state(state)
    return {name: float(np.mean([values[name] for values in batch_values])) for name in ROUGE_TYPES}


def xsum_provenance() -> dict[str, str]:
    """What produced the XSUM numbers in this environment, for every result row (R37)."""
    return {
        "scorer": SCORER,
        "metrics_version": ROUGE_METRICS_VERSION,
        "rouge_score_version": importlib.metadata.version("rouge-score"),
        "nltk_version": importlib.metadata.version("nltk"),  # rouge-score's Porter stemmer
    }


def _bootstrap_mid(batch: Sequence[dict[str, scoring.Score]]) -> dict[str, float]:
    aggregator = scoring.BootstrapAggregator(n_samples=BOOTSTRAP_SAMPLES)
    for scores in batch:
        aggregator.add_scores(scores)
    result = aggregator.aggregate()
    return {name: 100.0 * float(result[name].mid.fmeasure) for name in ROUGE_TYPES}


def _single_references(references: Sequence[str] | Sequence[Sequence[str]]) -> list[str]:
    if isinstance(references, str):
        raise TypeError("references must be a list, not a single string")
    refs = []
    for index, ref in enumerate(references):
        if isinstance(ref, str):
            refs.append(ref)
        elif len(ref) == 1 and isinstance(ref[0], str):
            refs.append(ref[0])
        else:
            raise ValueError(
                f"references[{index}] has {len(ref)} references; XSUM ROUGE takes exactly one"
            )
    return refs
