"""BERTScore F1 as DART's evaluation computes it (`bert-score -r ref0 ref1 ref2 -c hyp --lang en`).

DART's `run_eval_on_dart.sh` calls the bert-score 0.3.13 command line with the three reference
files and `--lang en` (implementation notes D.3). With those arguments bert-score uses (read from
its `score.py` / `utils.py`, re-implemented here because 0.3.13 does not run on transformers 5):

* model `roberta-large`, the hidden states after layer 17 (its `model2layers` table), no idf
  weighting, no baseline rescaling;
* each sentence stripped and encoded with the special tokens and a prefix space
  (``<s> ... </s>``), truncated to the tokenizer's maximum length; the special tokens take part
  in the matching but weigh 0;
* token embeddings L2-normalised; precision = weighted mean over hypothesis tokens of the best
  cosine with any reference token, recall the same the other way, F = 2PR / (P + R);
* an empty hypothesis or reference scores P = R = F = 0; with several references each of P, R
  and F is the maximum over them; the corpus BERTScore is the mean F over inputs.

Weights are never downloaded here: the scorer loads `roberta-large` (or the directory or hub id
in ``$BENCHMARK_BERTSCORE_MODEL``, with ``$BENCHMARK_BERTSCORE_LAYER``) from local files only.
A user with a network fetches it once (``hf download roberta-large``); without it the DART
BERTScore cell is "not computed: <why>". Cost: one roberta-large forward pass (17 of its 24
layers) per distinct sentence, and the embeddings of every distinct sentence are kept until the
matching (as bert-score does): for DART's test set, ~20,000 distinct sentences x ~30 tokens x
4 KB, an estimated 2.4 GB. Time not measured on this CPU (the weights are not available here).

Usage:
    scorer = load_scorer()               # raises BertScoreUnavailable with the reason
    f1 = corpus_f1(scorer, hypotheses, [[ref0, ref1, ref2], ...])
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from benchmark.metrics.inputs import MetricUnavailable, last_hidden_states, load_local_encoder

MODEL_ENV = "BENCHMARK_BERTSCORE_MODEL"
LAYER_ENV = "BENCHMARK_BERTSCORE_LAYER"
DEFAULT_MODEL = "roberta-large"  # bert-score lang2model["en"]
DEFAULT_LAYER = 17  # bert-score model2layers["roberta-large"]
BATCH_SIZE = 64  # bert-score default; sentences are batched by length


class BertScoreUnavailable(MetricUnavailable):
    """The BERTScore model cannot be loaded from local files; the message says why."""


@dataclass
class BertScorer:
    """A loaded contextual-embedding model truncated to the scoring layer."""

    name: str
    layer: int
    tokenizer: Any
    model: Any

    def describe(self) -> str:
        """The provenance string every DART row records (R35: model and checkpoint)."""
        return (
            f"{self.name} layer {self.layer}, no idf, no baseline rescaling (bert-score --lang en)"
        )

    def embed(self, sentences: Sequence[str]) -> dict[str, tuple[Any, Any]]:
        """For each distinct sentence: (L2-normalised token embeddings [T, d], weights [T])."""
        import torch

        distinct = sorted({s.strip() for s in sentences}, key=len, reverse=True)
        special = {self.tokenizer.cls_token_id, self.tokenizer.sep_token_id}
        rows = [self._encode(sentence) for sentence in distinct]
        pad = self.tokenizer.pad_token_id
        # float32 as bert-score: 4 KB a token; a progress bar on a terminal (DART: ~20,000)
        hidden = last_hidden_states(self.model, pad, rows, "BERTScore", BATCH_SIZE)
        out: dict[str, tuple[Any, Any]] = {}
        for sentence, row, states in zip(distinct, rows, hidden, strict=True):
            weights = torch.tensor([0.0 if i in special else 1.0 for i in row])
            out[sentence] = (states / states.norm(dim=-1, keepdim=True), weights)
        return out

    def _encode(self, sentence: str) -> list[int]:
        return self.tokenizer(
            sentence, truncation=True, max_length=min(self.tokenizer.model_max_length, 512)
        ).input_ids


def greedy_match(hyp: tuple[Any, Any], ref: tuple[Any, Any]) -> tuple[float, float, float]:
    """(P, R, F) of one hypothesis against one reference from `BertScorer.embed` entries."""
    hyp_states, hyp_weights = hyp
    ref_states, ref_weights = ref
    if hyp_weights.sum() == 0 or ref_weights.sum() == 0:  # empty sentence: bert-score gives 0
        return 0.0, 0.0, 0.0
    similarity = hyp_states @ ref_states.T
    precision = float((similarity.max(dim=1).values * hyp_weights).sum() / hyp_weights.sum())
    recall = float((similarity.max(dim=0).values * ref_weights).sum() / ref_weights.sum())
    total = precision + recall
    return precision, recall, (2 * precision * recall / total if total else 0.0)


def sentence_scores(
    scorer: BertScorer, hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> list[tuple[float, float, float]]:
    """Per input, (P, R, F) each the maximum over its references (bert-score's multi-ref rule)."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    table = scorer.embed([*hypotheses, *(ref for refs in references for ref in refs)])
    scores = []
    for hyp, refs in zip(hypotheses, references, strict=True):
        per_ref = [greedy_match(table[hyp.strip()], table[ref.strip()]) for ref in refs]
        scores.append(tuple(max(column) for column in zip(*per_ref, strict=True)))
    return scores


def corpus_f1(
    scorer: BertScorer, hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> float:
    """The number DART's `print_scores.py` prints: the mean BERTScore F1 over inputs."""
    scores = sentence_scores(scorer, hypotheses, references)
    return sum(f for _, _, f in scores) / len(scores)


def configured() -> tuple[str, int]:
    """The model (name, directory or hub id) and layer the environment asks for."""
    name = os.environ.get(MODEL_ENV) or DEFAULT_MODEL
    layer = os.environ.get(LAYER_ENV)
    if layer is not None and not layer.isdigit():
        raise BertScoreUnavailable(f"${LAYER_ENV}={layer!r} is not a layer number")
    return name, int(layer) if layer is not None else DEFAULT_LAYER


def load_scorer() -> BertScorer:
    """The configured scorer from local files only (cached per process)."""
    return _load(*configured())


@functools.lru_cache(maxsize=2)
def _load(name: str, layer: int) -> BertScorer:
    try:
        tokenizer, model = load_local_encoder(name, MODEL_ENV, add_prefix_space=True)
    except MetricUnavailable as why:
        raise BertScoreUnavailable(str(why)) from why
    layers = getattr(getattr(model, "encoder", None), "layer", None)
    if layers is None:
        raise BertScoreUnavailable(f"{name} is not a BERT/RoBERTa-style encoder")
    if not 0 < layer <= len(layers):
        raise BertScoreUnavailable(f"{name} has {len(layers)} layers; layer {layer} asked")
    model.encoder.layer = layers[:layer]  # the hidden states after `layer` layers
    return BertScorer(name=name, layer=layer, tokenizer=tokenizer, model=model)
