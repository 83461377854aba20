"""MoverScore as DART's evaluation computes it (`python moverscore.py ref0 hyp`).

DART's `run_eval_on_dart.sh` runs its `moverscore.py` on reference 0 only (implementation notes
D.3). That script builds one idf table from all hypotheses and one from all references
(`get_idf_dict`), calls `word_mover_score(refs, hyps, idf_ref, idf_hyp, stop_words=[], n_gram=1,
remove_subwords=True)` of `moverscore_v2` and prints the mean. `moverscore_v2` as released on PyPI
(moverscore 1.0.3, 2020-04-09, the release at the time of DART and of the paper) does, read from
its source and re-implemented here (1.0.3 imports `np.float` and `tokenizer.max_len`, both gone
from current numpy and transformers):

* distilbert-base-uncased (lower-cased WordPiece); each sentence is ``[CLS] tokens [SEP]`` with
  the tokens truncated to the tokenizer's maximum length - 2; the embedding of a token is the
  model's last hidden layer;
* idf of token id t over the N sentences of a side: log((N + 1) / (df(t) + 1)), df counting
  sentences that contain t (so [CLS] and [SEP], in every sentence, weigh 0); an id never seen
  weighs log(N + 1);
* every WordPiece continuation ("##...") and every token that is a single punctuation character
  (`string.punctuation`) weighs 0 (`n_gram` and `remove_subwords` are not used by 1.0.3: the
  continuations are always dropped);
* embeddings L2-normalised; the reference weights and the hypothesis weights are each scaled to
  sum to 1 and the earth mover's distance between them is solved exactly by pyemd
  (`emd_with_flow`, ground distance = Euclidean distance of the normalised embeddings);
  score = 1 - (total flow x distance). A hypothesis (or reference) whose weights are all 0 --
  e.g. an empty one -- has no mass to move, so the flow is 0 and it scores 1 - 0 = 1: kept, as
  DART's number has it;
* the corpus MoverScore is the mean over inputs.

The GitHub head of moverscore_v2 later changed the score to 1 / (1 + distance); DART's number
(and so the paper's) used the PyPI release, and this module follows it.

Weights are never downloaded here: the scorer loads `distilbert-base-uncased` (or the directory
or hub id in ``$BENCHMARK_MOVERSCORE_MODEL``) from local files only, and needs the `pyemd`
package (installed with the suite's `dart` or `test` extra). Without either, the DART MoverScore
cell is "not computed: <why>".

Usage:
    scorer = load_scorer()          # raises MoverScoreUnavailable with the reason
    score = corpus_score(scorer, hypotheses, references0)
"""

from __future__ import annotations

import functools
import math
import os
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.metrics.inputs import (
    MetricUnavailable,
    check_inputs,
    last_hidden_states,
    load_local_encoder,
)

MODEL_ENV = "BENCHMARK_MOVERSCORE_MODEL"
DEFAULT_MODEL = "distilbert-base-uncased"  # moverscore_v2 1.0.3 `model_name`
PUNCTUATION = frozenset(string.punctuation)


class MoverScoreUnavailable(MetricUnavailable):
    """The MoverScore model or the EMD solver is missing on this machine; the message says why."""


@dataclass
class MoverScorer:
    """A loaded encoder and its tokenizer; `emd_with_flow` is pyemd's exact solver."""

    name: str
    tokenizer: Any
    model: Any
    emd_with_flow: Any

    def describe(self) -> str:
        """The provenance string every DART row records (R35: model and scorer version)."""
        return (
            f"{self.name} last layer, idf per side, subwords and punctuation dropped, "
            f"1 - EMD (pyemd), reference 0 only (moverscore 1.0.3 as DART moverscore.py)"
        )

    def tokens(self, sentence: str) -> list[str]:
        """``[CLS] tokens [SEP]`` as moverscore_v2 builds them (`collate_idf` / `process`)."""
        limit = self.tokenizer.model_max_length - 2
        body = self.tokenizer.tokenize(sentence)[:limit]
        return [self.tokenizer.cls_token, *body, self.tokenizer.sep_token]

    def embed(self, sentences: Sequence[str]) -> dict[str, Any]:
        """For each distinct sentence, its last-layer token embeddings [T, d] (float32)."""
        distinct = sorted(set(sentences), key=len, reverse=True)
        rows = [self.tokenizer.convert_tokens_to_ids(self.tokens(s)) for s in distinct]
        pad = self.tokenizer.pad_token_id
        return dict(zip(distinct, last_hidden_states(self.model, pad, rows, "MoverScore")))


def idf_table(scorer: MoverScorer, sentences: Sequence[str]) -> tuple[Counter, int]:
    """(document frequency of each token id, number of sentences): `get_idf_dict`'s input."""
    counts: Counter = Counter()
    for sentence in sentences:
        counts.update(set(scorer.tokenizer.convert_tokens_to_ids(scorer.tokens(sentence))))
    return counts, len(sentences)


def token_weights(scorer: MoverScorer, sentence: str, idf: tuple[Counter, int]) -> list[float]:
    """The mass of each token of ``[CLS] ... [SEP]`` before scaling: idf, 0 if dropped."""
    counts, documents = idf
    tokens = scorer.tokens(sentence)
    weights = []
    for token, token_id in zip(tokens, scorer.tokenizer.convert_tokens_to_ids(tokens), strict=True):
        if "##" in token or token in PUNCTUATION:  # moverscore_v2: always dropped
            weights.append(0.0)
        else:
            weights.append(math.log((documents + 1) / (counts.get(token_id, 0) + 1)))
    return weights


def transport_score(
    scorer: MoverScorer, ref: tuple[Any, list[float]], hyp: tuple[Any, list[float]]
) -> float:
    """1 - EMD between one reference and one hypothesis, each (embeddings [T, d], weights)."""
    import numpy as np
    import torch

    ref_states, ref_weights = ref
    hyp_states, hyp_weights = hyp
    # moverscore_v2 also zeroes the embeddings of dropped tokens; a bin of zero mass carries no
    # flow, so its distances never reach the score and that step is left out here
    states = torch.cat([ref_states, hyp_states])
    states = states / (states.norm(dim=-1, keepdim=True) + 1e-30)
    squared = (states * states).sum(dim=-1, keepdim=True)
    # |x|^2 + |y|^2 - 2 x.y in float32, clamped and rooted, as moverscore's batched_cdist_l2
    distance = torch.addmm(squared.T, states, states.T, alpha=-2).add_(squared)
    distance = distance.clamp_min_(1e-30).sqrt_().double().numpy()
    split = len(ref_weights)
    first = np.zeros(len(states))
    second = np.zeros(len(states))
    first[:split] = ref_weights
    second[split:] = hyp_weights
    first = first / (first.sum() + 1e-30)
    second = second / (second.sum() + 1e-30)
    _, flow = scorer.emd_with_flow(first, second, distance)
    flow = np.asarray(flow, dtype=np.float32)
    return float(1.0 - np.sum(flow * distance))


def sentence_scores(
    scorer: MoverScorer, hypotheses: Sequence[str], references: Sequence[str]
) -> list[float]:
    """One MoverScore per input: hypothesis i against reference i (DART passes reference 0)."""
    hypotheses, _ = check_inputs(hypotheses, [[ref] for ref in references])
    hyp_idf, ref_idf = idf_table(scorer, hypotheses), idf_table(scorer, references)
    table = scorer.embed([*hypotheses, *references])
    return [
        transport_score(
            scorer,
            (table[ref], token_weights(scorer, ref, ref_idf)),
            (table[hyp], token_weights(scorer, hyp, hyp_idf)),
        )
        for hyp, ref in zip(hypotheses, references, strict=True)
    ]


def corpus_score(
    scorer: MoverScorer, hypotheses: Sequence[str], references: Sequence[str]
) -> float:
    """The number DART's `moverscore.py` prints: the mean over inputs."""
    scores = sentence_scores(scorer, hypotheses, references)
    return sum(scores) / len(scores)


def load_scorer() -> MoverScorer:
    """The configured scorer from local files only (cached per process)."""
    return _load(os.environ.get(MODEL_ENV) or DEFAULT_MODEL)


@functools.lru_cache(maxsize=2)
def _load(name: str) -> MoverScorer:
    try:
        from pyemd import emd_with_flow
    except ImportError as error:
        raise MoverScoreUnavailable(
            "the pyemd package (its exact EMD solver) is not installed: "
            "pip install 'prefix-tuning-benchmark[dart]'"
        ) from error
    try:
        tokenizer, model = load_local_encoder(name, MODEL_ENV, do_lower_case=True)
    except MetricUnavailable as why:
        raise MoverScoreUnavailable(str(why)) from why
    if tokenizer.cls_token is None or tokenizer.sep_token is None:
        raise MoverScoreUnavailable(f"{name}'s tokenizer has no [CLS]/[SEP] tokens (not BERT-like)")
    return MoverScorer(name=name, tokenizer=tokenizer, model=model, emd_with_flow=emd_with_flow)
