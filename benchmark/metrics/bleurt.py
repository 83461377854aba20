"""BLEURT as DART's evaluation computes it, through Google's `bleurt` package when it is installed.

DART's `run_eval_on_dart.sh` runs ``python -m bleurt.score -candidate_file=HYP
-reference_file=ref0 -bleurt_checkpoint=bleurt/bleurt/test_checkpoint`` and `print_scores.py`
prints the mean of the per-sentence scores (implementation notes D.3): reference 0 only, and the
tiny test checkpoint that ships inside the bleurt sources (not BLEURT-base or BLEURT-20).

BLEURT checkpoints are TensorFlow models and this suite has no TensorFlow, so the scores come from
the official package itself (`bleurt.score.BleurtScorer`), never from a re-implementation: a user
who has installed bleurt (``pip install git+https://github.com/google-research/bleurt``, which
brings TensorFlow) gets the DART BLEURT cell; everyone else gets "not computed: <why>".

The checkpoint is ``$BENCHMARK_BLEURT_CHECKPOINT`` if set, else the `test_checkpoint` directory
inside the installed bleurt package (where DART's command points).

Usage:
    scorer = load_scorer()         # raises BleurtUnavailable with the reason
    score = corpus_score(scorer, hypotheses, references0)
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path
from typing import Any

from benchmark.metrics.inputs import MetricUnavailable, check_inputs

CHECKPOINT_ENV = "BENCHMARK_BLEURT_CHECKPOINT"
DEFAULT_CHECKPOINT = "test_checkpoint"  # bleurt/test_checkpoint, as run_eval_on_dart.sh
INSTALL = "pip install git+https://github.com/google-research/bleurt (brings TensorFlow)"


class BleurtUnavailable(MetricUnavailable):
    """The bleurt package or its checkpoint is missing on this machine; the message says why."""


@dataclass
class BleurtScorer:
    checkpoint: Path
    scorer: Any  # bleurt.score.BleurtScorer

    def describe(self) -> str:
        """The provenance string every DART row records (R35: the checkpoint)."""
        return f"bleurt.score.BleurtScorer({self.checkpoint}), reference 0 only, mean"


def corpus_score(
    scorer: BleurtScorer, hypotheses: Sequence[str], references: Sequence[str]
) -> float:
    """The number DART's `print_scores.py` prints: the mean BLEURT over inputs."""
    hypotheses, _ = check_inputs(hypotheses, [[ref] for ref in references])
    scores = scorer.scorer.score(references=list(references), candidates=list(hypotheses))
    if len(scores) != len(hypotheses):
        raise RuntimeError(f"bleurt returned {len(scores)} scores for {len(hypotheses)} inputs")
    return sum(float(s) for s in scores) / len(scores)


def configured_checkpoint() -> Path:
    """The checkpoint directory asked for, or bleurt's own test checkpoint."""
    if os.environ.get(CHECKPOINT_ENV):
        return Path(os.environ[CHECKPOINT_ENV])
    spec = find_spec("bleurt")
    if spec is None or not spec.submodule_search_locations:
        raise BleurtUnavailable(f"the bleurt package is not installed: {INSTALL}")
    return Path(next(iter(spec.submodule_search_locations))) / DEFAULT_CHECKPOINT


def load_scorer() -> BleurtScorer:
    """The configured scorer (cached per process)."""
    return _load(configured_checkpoint())


@functools.lru_cache(maxsize=2)
def _load(checkpoint: Path) -> BleurtScorer:
    if not checkpoint.is_dir():
        raise BleurtUnavailable(
            f"no BLEURT checkpoint at {checkpoint} (set ${CHECKPOINT_ENV} to one; DART used "
            f"bleurt/test_checkpoint)"
        )
    try:
        from bleurt import score
    except ImportError as error:
        raise BleurtUnavailable(
            f"the bleurt package does not import ({error}): {INSTALL}"
        ) from error
    return BleurtScorer(checkpoint=checkpoint, scorer=score.BleurtScorer(str(checkpoint)))
