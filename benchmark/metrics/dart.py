"""DART scores equal to its official evaluation script (BLEU, METEOR, TER and the model metrics).

Strings in, numbers out, on the paper's printed scale: BLEU x100, METEOR and TER fractions
[setup.md §7]. What Yale-LILY/dart `evaluation/run_eval_on_dart.sh` does, with the references
pinned to `dart/eval_references/all-delex-reference{0,1,2}.lex` (commit 4768cf7, 2021-08-04), and
how it is reproduced (implementation notes D.2, D.3, D.5; R33-R35); the BLEU, METEOR and TER
machinery shared with WebNLG is `benchmark.metrics.multiref`:

* Those references are the release lexicalisations split with ``re.split('(\\W)')``,
  whitespace-collapsed and lower-cased -- NOT unidecoded (accents stay: "competición"). Building
  them from `dart-v1.1.1-full-test.xml` this way gives the pinned files line for line (15,291 of
  15,291). `normalize_dart` applies the same to hypotheses, so case-SENSITIVE BLEU (multi-bleu
  without ``-lc``) compares like with like; an un-normalised, cased hypothesis would lose every
  capitalised and punctuation-adjacent token. The paper (2021) scored against the older cased
  references (5,160 lines), which are not available; numbers here are on the pinned version.
* BLEU: first three references, blank-padded (``''``, never ``None``), case-sensitive, no
  smoothing: sacrebleu ``tokenize='none', lowercase=False``.
* METEOR ``-l en -norm -r 8`` and TER: the official `prepare_files.py` (three-reference version)
  gives both metrics reference 0 plus the NON-empty references 1 and 2 (read in text mode, so the
  files' CRLF empty lines count as empty), METEOR's padded with blank lines to 8. TER is sacrebleu
  `TER()` with tercom's defaults, as a fraction.
* The model-based metrics, on the same normalised hypotheses: BERTScore F1 (`bert-score` CLI,
  three references, ``--lang en``; `benchmark.metrics.bertscore`, roberta-large), MoverScore
  (DART `moverscore.py`, reference 0; `benchmark.metrics.moverscore`, distilbert-base-uncased and
  pyemd) and BLEURT (reference 0, bleurt's test checkpoint; `benchmark.metrics.bleurt`, through
  the official TensorFlow package). Each is computed when its model (and package) is on this
  machine -- weights are never downloaded by a scorer -- and otherwise the cell is
  "not computed: <why>", never a made-up value.

Cost: TER ~5 min for the 5,097 DART test inputs on 2 cores (pure-Python sacrebleu); METEOR starts
the jar (~6-12 s) once.

Usage:
    from benchmark.data.dart import load_dart
    from benchmark.metrics.dart import score_dart
    test = load_dart(data_dir, "test")
    scores = score_dart(outputs, [ex.references for ex in test])
    # {'bleu': .., 'meteor': .., 'ter': .., 'moverscore': .., 'bertscore': .., 'bleurt': ..}
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Callable, Sequence
from typing import Any

from benchmark.metrics import bertscore, bleurt, coco, moverscore
from benchmark.metrics.inputs import MetricUnavailable, check_inputs
from benchmark.metrics.multiref import (
    BLEU_REFERENCES,
    bleu_signature,
    corpus_bleu,
    corpus_ter,
    first_references,
    java_provenance,
    meteor_cells,
    padded,
    reference_streams,
    ter_signature,
    ter_statistics,
    word_split,
)

# Bump whenever a number could change for the same strings; every result row records it.
# 2 = BERTScore when its model is present; 3 = MoverScore and BLEURT likewise
DART_METRICS_VERSION = "dart-parity-3"

DART_SCORER = (
    "Yale-LILY/dart evaluation/run_eval_on_dart.sh (bb644b1), reimplemented: sacrebleu BLEU = "
    "multi-bleu.perl, METEOR 1.5 jar, sacrebleu TER; references all-delex-reference{0,1,2}.lex "
    "of commit 4768cf7 (lower-cased, tokenised)"
)
DART_METRICS = ("bleu", "meteor", "ter", "moverscore", "bertscore", "bleurt")  # ACL Table 2 order

DART_METEOR_REFERENCES = 8  # run_eval_on_dart.sh: -r 8
DART_BLEU_OPTIONS = {"tokenize": "none", "lowercase": False, "smooth_method": "none"}  # no -lc

DART_NORMALISATION = "lower(ws-collapse(re.split('(\\W)', text))) on hypotheses and references"


# The model-based metrics of the official DART script: (label, module, corpus scorer, which
# references). Each is computed when its model (and package) is on this machine, else the cell
# says why; MoverScore and BLEURT take reference 0 only, BERTScore the first three.
def _model_metrics() -> dict[str, tuple[str, Any, Callable[..., float], bool]]:
    return {
        "moverscore": ("MoverScore", moverscore, moverscore.corpus_score, False),
        "bertscore": ("BERTScore", bertscore, bertscore.corpus_f1, True),
        "bleurt": ("BLEURT", bleurt, bleurt.corpus_score, False),
    }


# --- normalisation ------------------------------------------------------------------------------
def normalize_dart(text: str) -> str:
    """Hypothesis or reference in the form of the pinned DART references (no ASCII folding).

    ``"In 1982, Jed Jenkins -- Hawaii Five-O"`` -> ``"in 1982 , jed jenkins - - hawaii five - o"``.
    """
    return word_split(coco.one_line(text)).lower()


# --- public scorer ------------------------------------------------------------------------------
def score_dart(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    with_meteor: bool = True,
) -> dict[str, float | str]:
    """Score DART outputs like `run_eval_on_dart.sh` against the pinned (lower-cased) references.

    Args:
        hypotheses: one raw system output per test input, in `load_dart(..., "test")` order.
        references: for each input, its raw annotations in release order (`Example.references`).
        with_meteor: False skips the METEOR jar (one JVM start); its cell then says so.

    Returns:
        `DART_METRICS` keys: BLEU x100, METEOR and TER fractions; MoverScore, BERTScore F1 and
        BLEURT where their models are on this machine, else "not computed: <why>" strings.
    """
    hyps, refs = check_inputs(hypotheses, references)
    hyps = [normalize_dart(hyp) for hyp in hyps]
    refs = first_references(refs, normalize_dart)
    everything = list(range(len(hyps)))
    # prepare_files.py: reference 0 always, references 1 and 2 only where their line is non-empty.
    meteor_ter_refs = [instance[:1] + [ref for ref in instance[1:] if ref] for instance in refs]
    scores: dict[str, float | str] = {
        "bleu": corpus_bleu(
            hyps, [padded(r, BLEU_REFERENCES, "") for r in refs], everything, DART_BLEU_OPTIONS
        ),
        "ter": corpus_ter(ter_statistics(hyps, meteor_ter_refs), everything),
    }
    meteor_refs = [padded(r, DART_METEOR_REFERENCES, "") for r in meteor_ter_refs]
    scores["meteor"] = meteor_cells(hyps, meteor_refs, {"all": everything}, with_meteor)["all"]
    for name, (label, module, corpus_score, all_three) in _model_metrics().items():
        try:
            scorer = module.load_scorer()
        except MetricUnavailable as why:
            scores[name] = f"not computed: {label}: {why}"
            continue
        scores[name] = corpus_score(scorer, hyps, refs if all_three else [r[0] for r in refs])
    return {key: scores[key] for key in DART_METRICS}


def dart_reference_streams(references: Sequence[Sequence[str]]) -> list[list[str]]:
    """The three DART BLEU reference streams (= `all-delex-reference{0,1,2}.lex`, line for line)."""
    return reference_streams(references, normalize_dart)


# --- provenance ---------------------------------------------------------------------------------
def _model_metric_provenance(name: str) -> str:
    _, module, _, _ = _model_metrics()[name]
    try:
        return module.load_scorer().describe()
    except MetricUnavailable as why:
        return f"not computed: {why}"


def dart_provenance() -> dict[str, str]:
    """What produced the DART numbers in this environment, for every result row (R37)."""
    return {
        "scorer": DART_SCORER,
        "metrics_version": DART_METRICS_VERSION,
        "bleu_signature": bleu_signature(**DART_BLEU_OPTIONS),
        "ter_signature": ter_signature(),
        "normalisation": DART_NORMALISATION,
        "references": "Yale-LILY/dart evaluation/dart_reference/all-delex-reference{0,1,2}.lex "
        "@ 4768cf799e58 (5,097 lines, lower-cased, tokenised)",
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "pycocoevalcap_version": importlib.metadata.version("pycocoevalcap"),
        **{name: _model_metric_provenance(name) for name in _model_metrics()},
        **java_provenance(DART_METEOR_REFERENCES),
    }
