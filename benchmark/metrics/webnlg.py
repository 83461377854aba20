"""WebNLG 2017 and DART scores equal to their official evaluation scripts (BLEU, METEOR, TER).

Strings in, numbers out, on the paper's printed scale: BLEU x100, METEOR and TER fractions
[setup.md §7]. What the official scripts do and how it is reproduced (implementation notes D.2,
D.3, D.5; R33-R35):

WebNLG 2017 (`webnlg-automatic-evaluation`, vendored in Yale-LILY/dart `evaluation/`):

* Normalisation (`evaluation.py`): hypotheses are ``unidecode``d, lower-cased, split with
  ``re.split('(\\W)')`` (every non-word character its own token) and whitespace-collapsed;
  references are split, collapsed, lower-cased, then ``unidecode``d (that order, as
  `bleu_ref_files_gen` does). Building references from `testdata_with_lex.xml` this way gives
  the official `gold-all-cat-reference{0..7}.lex` files line for line (14,896 of 14,896 lines,
  unidecode 1.4.0; tested on reference0-2).
* BLEU: `multi-bleu.perl -lc` against the first three references, an entry with fewer having
  EMPTY lines (zero-length references that enter the closest-length brevity penalty) = sacrebleu
  `tokenize='none', lowercase=True` with the streams padded by ``''`` (never ``None``: that moves
  BLEU by about a point) and no smoothing (multi-bleu has none).
* METEOR 1.5 ``-l en -norm -r 3`` on the same three (blank-padded) references, via the METEOR
  driver of `benchmark.metrics.coco` (stdio mode, where each SCORE line carries an instance's
  references, so ``-r`` -- "plaintext only" in METEOR's usage text -- is implied by the padding;
  file mode ``-r 3`` and this driver gave the identical 0.7401026438948494 on 300 test entries).
* TER: tercom 0.7.25 with up to three ``(idN)`` references per entry (no blank ones) = sacrebleu
  `TER()` defaults (case-insensitive, no normalisation, punctuation kept) with ``None``-padded
  streams, reported as a fraction (within 0.0002 of tercom, notes D.2).
* seen / unseen / all: the same metric on the subsets of the 10 seen and the 5 unseen categories
  (`benchmark.data.webnlg.webnlg_seen_mask`) and on everything; each is a corpus score of its own.

DART (Yale-LILY/dart `evaluation/run_eval_on_dart.sh`, references pinned to
`dart/eval_references/all-delex-reference{0,1,2}.lex`, commit 4768cf7, 2021-08-04):

* Those references are the release lexicalisations split with ``re.split('(\\W)')``,
  whitespace-collapsed and lower-cased -- NOT unidecoded (accents stay: "competición"). Building
  them from `dart-v1.1.1-full-test.xml` this way gives the pinned files line for line (15,291 of
  15,291). `normalize_dart` applies the same to hypotheses, so case-SENSITIVE BLEU (multi-bleu
  without ``-lc``) compares like with like; an un-normalised, cased hypothesis would lose every
  capitalised and punctuation-adjacent token. The paper (2021) scored against the older cased
  references (5,160 lines), which are not available; numbers here are on the pinned version.
* BLEU: first three references, blank-padded, case-sensitive, no smoothing.
* METEOR ``-l en -norm -r 8`` and TER: the official `prepare_files.py` (three-reference version)
  gives both metrics reference 0 plus the NON-empty references 1 and 2 (read in text mode, so the
  files' CRLF empty lines count as empty), METEOR's padded with blank lines to 8.
* The model-based metrics, on the same normalised hypotheses: BERTScore F1 (`bert-score` CLI,
  three references, ``--lang en``; `benchmark.metrics.bertscore`, roberta-large), MoverScore
  (DART `moverscore.py`, reference 0; `benchmark.metrics.moverscore`, distilbert-base-uncased and
  pyemd) and BLEURT (reference 0, bleurt's test checkpoint; `benchmark.metrics.bleurt`, through
  the official TensorFlow package). Each is computed when its model (and package) is on this
  machine -- weights are never downloaded by a scorer -- and otherwise the cell is
  "not computed: <why>", never a made-up value.

Cost: sacrebleu's TER is pure Python and slow on long sentences (measured on 2 cores with one
human reference scored against the others: ~100 s for the 1,862 WebNLG test inputs, ~5 min for the
5,097 DART ones); it is computed once per instance and summed per subset. METEOR starts the jar
(~6-12 s) once per distinct non-empty subset, i.e. up to three times for WebNLG.

Usage:
    from benchmark.data.webnlg import load_webnlg, webnlg_seen_mask
    from benchmark.metrics.webnlg import score_dart, score_webnlg
    test = load_webnlg(data_dir, "test")
    scores = score_webnlg(outputs, [ex.references for ex in test], webnlg_seen_mask(data_dir))
    # {'bleu_seen': .., 'bleu_unseen': .., 'bleu_all': .., 'meteor_seen': .., ..., 'ter_all': ..}
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from sacrebleu.metrics import BLEU, TER
from unidecode import unidecode

from benchmark.metrics import bertscore, bleurt, coco, java, moverscore
from benchmark.metrics.inputs import MetricUnavailable, check_inputs

log = logging.getLogger(__name__)

# Bump whenever a number could change for the same strings; every result row records it.
WEBNLG_METRICS_VERSION = "webnlg2017-parity-1"
# DART: 2 = BERTScore when its model is present; 3 = MoverScore and BLEURT likewise
DART_METRICS_VERSION = "dart-parity-3"

WEBNLG_SCORER = (
    "WebNLG 2017 challenge evaluation (webnlg-automatic-evaluation as vendored in Yale-LILY/dart "
    "bb644b1), reimplemented: sacrebleu BLEU = multi-bleu.perl -lc, METEOR 1.5 jar, sacrebleu TER"
)
DART_SCORER = (
    "Yale-LILY/dart evaluation/run_eval_on_dart.sh (bb644b1), reimplemented: sacrebleu BLEU = "
    "multi-bleu.perl, METEOR 1.5 jar, sacrebleu TER; references all-delex-reference{0,1,2}.lex "
    "of commit 4768cf7 (lower-cased, tokenised)"
)
WEBNLG_SUBSETS = ("seen", "unseen", "all")  # the paper's S / U / A columns
WEBNLG_METRICS = tuple(
    f"{metric}_{subset}" for metric in ("bleu", "meteor", "ter") for subset in WEBNLG_SUBSETS
)
DART_METRICS = ("bleu", "meteor", "ter", "moverscore", "bertscore", "bleurt")  # ACL Table 2 order

BLEU_REFERENCES = 3  # both official scripts pass multi-bleu exactly three reference files
WEBNLG_METEOR_REFERENCES = 3  # meteor_eval.sh: -r 3
DART_METEOR_REFERENCES = 8  # run_eval_on_dart.sh: -r 8
WEBNLG_BLEU_OPTIONS = {"tokenize": "none", "lowercase": True, "smooth_method": "none"}  # -lc
DART_BLEU_OPTIONS = {"tokenize": "none", "lowercase": False, "smooth_method": "none"}  # no -lc

WEBNLG_NORMALISATION = (
    "evaluation.py: hyp = ws-collapse(re.split('(\\W)', unidecode(lower(unidecode(strip(hyp)))))); "
    "ref = unidecode(lower(ws-collapse(re.split('(\\W)', ref))))"
)
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


_WORD_SPLIT = re.compile(r"(\W)")


# --- normalisation ------------------------------------------------------------------------------
def normalize_webnlg_hypothesis(text: str) -> str:
    """A system output as `evaluation.py` writes it for scoring (read_participant + write_to_file).

    ``"Adolfo Suárez Madrid–Barajas Airport's runway"`` -> ``"adolfo suarez madrid - barajas
    airport ' s runway"``.
    """
    text = unidecode(coco.one_line(text).strip())
    text = " ".join(_WORD_SPLIT.split(unidecode(text.lower())))
    return " ".join(text.split())


def normalize_webnlg_reference(text: str) -> str:
    """A reference as `evaluation.py` writes it into `gold-*-reference*.lex` (bleu_ref_files_gen)."""
    text = " ".join(_WORD_SPLIT.split(coco.one_line(text)))
    return unidecode(" ".join(text.split()).lower())


def normalize_dart(text: str) -> str:
    """Hypothesis or reference in the form of the pinned DART references (no ASCII folding).

    ``"In 1982, Jed Jenkins -- Hawaii Five-O"`` -> ``"in 1982 , jed jenkins - - hawaii five - o"``.
    """
    text = " ".join(_WORD_SPLIT.split(coco.one_line(text)))
    return " ".join(text.split()).lower()


# --- public scorers -----------------------------------------------------------------------------
def score_webnlg(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    seen_mask: Sequence[bool],
    with_meteor: bool = True,
) -> dict[str, float | str]:
    """Score WebNLG outputs like the official 2017 challenge scripts, per seen / unseen / all.

    Args:
        hypotheses: one raw system output per test input (normalised here, as the official
            scripts normalise submissions).
        references: for each input, ALL its raw lexicalisations in release order (the first three
            are used, as officially).
        seen_mask: True where the input's category is seen (`webnlg_seen_mask`).
        with_meteor: False skips the METEOR jar (three JVM starts); its cells then say so.

    Returns:
        `WEBNLG_METRICS` keys (`bleu_seen`, ..., `ter_all`): BLEU x100, METEOR and TER fractions.
        A cell is a "not computed: ..." string when Java is missing, METEOR is skipped, or the
        subset is empty.

    Raises:
        ValueError / TypeError: mismatched or empty inputs.
        benchmark.metrics.java.JavaToolError: `java` exists but the METEOR jar failed.
    """
    hyps, refs = check_inputs(hypotheses, references)
    if isinstance(seen_mask, str) or len(seen_mask) != len(hyps):
        raise ValueError(f"seen_mask has {len(seen_mask)} entries for {len(hyps)} hypotheses")
    hyps = [normalize_webnlg_hypothesis(hyp) for hyp in hyps]
    refs = _first_references(refs, normalize_webnlg_reference)
    subsets = {
        "seen": [i for i, seen in enumerate(seen_mask) if seen],
        "unseen": [i for i, seen in enumerate(seen_mask) if not seen],
        "all": list(range(len(hyps))),
    }
    bleu_refs = [_padded(instance, BLEU_REFERENCES, "") for instance in refs]
    meteor_refs = [_padded(instance, WEBNLG_METEOR_REFERENCES, "") for instance in refs]
    ter_statistics = _ter_statistics(hyps, refs)  # TER: up to three references, none blank
    scores: dict[str, float | str] = {}
    for name, indices in subsets.items():
        scores[f"bleu_{name}"] = _cell(
            indices, name, lambda ix: _bleu(hyps, bleu_refs, ix, WEBNLG_BLEU_OPTIONS)
        )
        scores[f"ter_{name}"] = _cell(indices, name, lambda ix: _ter(ter_statistics, ix))
    scores.update(
        {
            f"meteor_{name}": value
            for name, value in _meteor_cells(hyps, meteor_refs, subsets, with_meteor).items()
        }
    )
    return {key: scores[key] for key in WEBNLG_METRICS}


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
    refs = _first_references(refs, normalize_dart)
    everything = list(range(len(hyps)))
    # prepare_files.py: reference 0 always, references 1 and 2 only where their line is non-empty.
    meteor_ter_refs = [instance[:1] + [ref for ref in instance[1:] if ref] for instance in refs]
    scores: dict[str, float | str] = {
        "bleu": _bleu(
            hyps, [_padded(r, BLEU_REFERENCES, "") for r in refs], everything, DART_BLEU_OPTIONS
        ),
        "ter": _ter(_ter_statistics(hyps, meteor_ter_refs), everything),
    }
    meteor_refs = [_padded(r, DART_METEOR_REFERENCES, "") for r in meteor_ter_refs]
    scores["meteor"] = _meteor_cells(hyps, meteor_refs, {"all": everything}, with_meteor)["all"]
    for name, (label, module, corpus_score, all_three) in _model_metrics().items():
        try:
            scorer = module.load_scorer()
        except MetricUnavailable as why:
            scores[name] = f"not computed: {label}: {why}"
            continue
        scores[name] = corpus_score(scorer, hyps, refs if all_three else [r[0] for r in refs])
    return {key: scores[key] for key in DART_METRICS}


def webnlg_reference_streams(references: Sequence[Sequence[str]]) -> list[list[str]]:
    """The three BLEU reference streams, normalised and blank-padded.

    Stream k, line i is what the official `gold-all-cat-reference{k}.lex` holds for input i, so
    `write_lines(path, stream)` recreates those files for a run with the official scripts.
    """
    return _transposed(
        _first_references(_validated_references(references), normalize_webnlg_reference)
    )


def dart_reference_streams(references: Sequence[Sequence[str]]) -> list[list[str]]:
    """The three DART BLEU reference streams (= `all-delex-reference{0,1,2}.lex`, line for line)."""
    return _transposed(_first_references(_validated_references(references), normalize_dart))


def _model_metric_provenance(name: str) -> str:
    _, module, _, _ = _model_metrics()[name]
    try:
        return module.load_scorer().describe()
    except MetricUnavailable as why:
        return f"not computed: {why}"


# --- provenance ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def bleu_signature(dataset: str) -> str:
    """sacrebleu signature of the BLEU configuration of "webnlg" or "dart" (nrefs:3)."""
    options = WEBNLG_BLEU_OPTIONS if dataset == "webnlg" else DART_BLEU_OPTIONS
    metric = BLEU(**options)
    metric.corpus_score(["a b"], [["a b"], ["a"], [""]])
    return str(metric.get_signature())


@functools.lru_cache(maxsize=1)
def ter_signature() -> str:
    """sacrebleu signature of the TER configuration (tercom defaults)."""
    metric = TER()
    metric.corpus_score(["a b", "a"], [["a b", "a"], ["a", None]])
    return str(metric.get_signature())


def _java_provenance(meteor_references: int) -> dict[str, str]:
    java_path = java.find_java()
    try:
        jar_hash = java.sha256_file(java.meteor_jar())
    except java.JavaToolError:
        jar_hash = "missing"
    command = ["java", *coco.JAVA_OPTIONS, "-jar", coco.METEOR_HEAP, "meteor-1.5.jar"]
    return {
        "java_version": java.java_version(java_path) if java_path else "none",
        "meteor_jar_sha256": jar_hash,
        "meteor_command": " ".join(command + list(coco.METEOR_ARGS))
        + f" (stdio equivalent of -r {meteor_references}: references blank-padded)",
    }


def webnlg_provenance() -> dict[str, str]:
    """What produced the WebNLG numbers in this environment, for every result row (R37)."""
    return {
        "scorer": WEBNLG_SCORER,
        "metrics_version": WEBNLG_METRICS_VERSION,
        "bleu_signature": bleu_signature("webnlg"),
        "ter_signature": ter_signature(),
        "normalisation": WEBNLG_NORMALISATION,
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "unidecode_version": importlib.metadata.version("unidecode"),
        "pycocoevalcap_version": importlib.metadata.version("pycocoevalcap"),
        **_java_provenance(WEBNLG_METEOR_REFERENCES),
    }


def dart_provenance() -> dict[str, str]:
    """What produced the DART numbers in this environment, for every result row (R37)."""
    return {
        "scorer": DART_SCORER,
        "metrics_version": DART_METRICS_VERSION,
        "bleu_signature": bleu_signature("dart"),
        "ter_signature": ter_signature(),
        "normalisation": DART_NORMALISATION,
        "references": "Yale-LILY/dart evaluation/dart_reference/all-delex-reference{0,1,2}.lex "
        "@ 4768cf799e58 (5,097 lines, lower-cased, tokenised)",
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "pycocoevalcap_version": importlib.metadata.version("pycocoevalcap"),
        **{name: _model_metric_provenance(name) for name in _model_metrics()},
        **_java_provenance(DART_METEOR_REFERENCES),
    }


# --- internals ----------------------------------------------------------------------------------
def _validated_references(references: Sequence[Sequence[str]]) -> list[list[str]]:
    return check_inputs([""] * len(references), references)[1]


def _first_references(
    references: Sequence[Sequence[str]], normalize: Callable[[str], str]
) -> list[list[str]]:
    """The normalised first three references of every instance (the official scripts use three)."""
    return [[normalize(ref) for ref in instance[:BLEU_REFERENCES]] for instance in references]


def _transposed(refs: Sequence[Sequence[str]]) -> list[list[str]]:
    return [
        [_padded(instance, BLEU_REFERENCES, "")[k] for instance in refs]
        for k in range(BLEU_REFERENCES)
    ]


def _padded(refs: Sequence[str], size: int, fill: str) -> list[str]:
    return list(refs[:size]) + [fill] * (size - len(refs[:size]))


def _streams(refs: Sequence[Sequence[str]], indices: Sequence[int]) -> list[list[str | None]]:
    """Per-instance reference lists of the subset -> sacrebleu streams, None where one is short."""
    width = max(len(refs[i]) for i in indices)
    return [[refs[i][k] if k < len(refs[i]) else None for i in indices] for k in range(width)]


def _bleu(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    indices: Sequence[int],
    options: dict[str, object],
) -> float:
    # `refs` arrive padded with "" to three, so no stream holds None: multi-bleu's empty lines.
    # force=True only silences sacrebleu's "already tokenised" warning; the text IS tokenised.
    metric = BLEU(**options, force=True)
    return float(metric.corpus_score([hyps[i] for i in indices], _streams(refs, indices)).score)


def _ter_statistics(
    hyps: Sequence[str], refs: Sequence[Sequence[str]]
) -> list[tuple[float, float]]:
    """(fewest edits over the references, average reference length) of every instance.

    tercom's corpus TER is sum(edits) / sum(average reference lengths), so per-instance
    statistics give every subset's TER without recomputing the (slow, pure-Python) edit search.
    """
    metric = TER()  # tercom defaults: case-insensitive, no normalisation, punctuation kept
    statistics = []
    for hyp, instance in zip(hyps, refs):
        result = metric.sentence_score(hyp, list(instance))
        statistics.append((float(result.num_edits), float(result.ref_length)))
    return statistics


def _ter(statistics: Sequence[tuple[float, float]], indices: Sequence[int]) -> float:
    edits = sum(statistics[i][0] for i in indices)
    length = sum(statistics[i][1] for i in indices)
    if length > 0:
        return edits / length  # a fraction, unrounded
    return 1.0 if edits > 0 else 0.0  # sacrebleu's (and tercom's) convention for empty references


def _cell(
    indices: Sequence[int], subset: str, compute: Callable[[Sequence[int]], float]
) -> float | str:
    if not indices:
        return f"not computed: no {subset} inputs"
    return compute(indices)


def _meteor_cells(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    subsets: dict[str, list[int]],
    with_meteor: bool,
) -> dict[str, float | str]:
    """Corpus METEOR 1.5 of each subset (one jar run per distinct non-empty subset)."""
    if not with_meteor:
        return {name: "not computed: METEOR skipped (with_meteor=False)" for name in subsets}
    java_path = java.find_java()
    if java_path is None:
        log.warning("java not found: METEOR not computed")
        return {name: java.JAVA_NOT_FOUND for name in subsets}
    cells: dict[str, float | str] = {}
    computed: dict[tuple[int, ...], float] = {}
    for name, indices in subsets.items():
        if not indices:
            cells[name] = f"not computed: no {name} inputs"
            continue
        key = tuple(indices)
        if key not in computed:
            # A subset's corpus METEOR aggregates its instances' statistics, so each subset needs
            # its own EVAL; coco.meteor starts one JVM per call (see the module docstring).
            corpus, _ = coco.meteor(
                [hyps[i] for i in indices], [refs[i] for i in indices], java_path
            )
            computed[key] = corpus
        cells[name] = computed[key]
    return cells
