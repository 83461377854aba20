"""Multi-reference BLEU, METEOR and TER as the WebNLG 2017 and DART official scripts compute them.

The machinery `benchmark.metrics.webnlg` and `benchmark.metrics.dart` share; each of those
modules chooses the references, the normalisation and the options (implementation notes D.2,
D.3, D.5; R33-R35):

* Normalisation building block: `word_split` is the official ``re.split('(\\W)')`` (every
  non-word character its own token) followed by whitespace collapsing.
* References: the first `BLEU_REFERENCES` (three) of every instance, normalised;
  `reference_streams` lays them out as the official ``reference{0,1,2}.lex`` files, an instance
  with fewer having EMPTY lines.
* BLEU: `multi-bleu.perl` = sacrebleu ``tokenize='none'`` with no smoothing (multi-bleu has
  none), on streams padded by ``''`` (zero-length references that enter the closest-length
  brevity penalty; never ``None``: that moves BLEU by about a point). ``-lc`` is the caller's
  ``lowercase`` option.
* METEOR 1.5: the METEOR driver of `benchmark.metrics.coco` (stdio mode, where each SCORE line
  carries an instance's references, so ``-r N`` is implied by blank-padding every instance to N).
* TER: tercom 0.7.25 = sacrebleu `TER()` defaults (case-insensitive, no normalisation,
  punctuation kept), reported as a fraction (within 0.0002 of tercom on WebNLG, notes D.2).
* Subsets: each subset's cell is a corpus score of its own; an empty subset's cell is a
  "not computed: ..." string.

Cost: sacrebleu's TER is pure Python and slow on long sentences (measured on 2 cores with one
human reference scored against the others: ~100 s for the 1,862 WebNLG test inputs, ~5 min for the
5,097 DART ones), so `ter_statistics` runs once per instance and `corpus_ter` sums them per subset.
`meteor_cells` starts the jar (~6-12 s) once per distinct non-empty subset.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable, Sequence

from sacrebleu.metrics import BLEU, TER

from benchmark.metrics import coco, java
from benchmark.metrics.inputs import check_inputs

log = logging.getLogger(__name__)

BLEU_REFERENCES = 3  # both official scripts pass multi-bleu exactly three reference files

WORD_SPLIT = re.compile(r"(\W)")


# --- normalisation and references ---------------------------------------------------------------
def word_split(text: str) -> str:
    """``re.split('(\\W)', text)`` joined and whitespace-collapsed, as the official scripts do."""
    return " ".join(" ".join(WORD_SPLIT.split(text)).split())


def first_references(
    references: Sequence[Sequence[str]], normalize: Callable[[str], str]
) -> list[list[str]]:
    """The normalised first three references of every instance (the official scripts use three)."""
    return [[normalize(ref) for ref in instance[:BLEU_REFERENCES]] for instance in references]


def reference_streams(
    references: Sequence[Sequence[str]], normalize: Callable[[str], str]
) -> list[list[str]]:
    """The three BLEU reference streams of validated raw references, normalised, blank-padded."""
    return _transposed(first_references(_validated_references(references), normalize))


def padded(refs: Sequence[str], size: int, fill: str) -> list[str]:
    """The first `size` of `refs`, padded with `fill` to exactly `size`."""
    return list(refs[:size]) + [fill] * (size - len(refs[:size]))


def _validated_references(references: Sequence[Sequence[str]]) -> list[list[str]]:
    return check_inputs([""] * len(references), references)[1]


def _transposed(refs: Sequence[Sequence[str]]) -> list[list[str]]:
    return [
        [padded(instance, BLEU_REFERENCES, "")[k] for instance in refs]
        for k in range(BLEU_REFERENCES)
    ]


def _streams(refs: Sequence[Sequence[str]], indices: Sequence[int]) -> list[list[str | None]]:
    """Per-instance reference lists of the subset -> sacrebleu streams, None where one is short."""
    width = max(len(refs[i]) for i in indices)
    return [[refs[i][k] if k < len(refs[i]) else None for i in indices] for k in range(width)]


# --- metrics ------------------------------------------------------------------------------------
def corpus_bleu(
    hyps: Sequence[str],
    refs: Sequence[Sequence[str]],
    indices: Sequence[int],
    options: dict[str, object],
) -> float:
    """Corpus BLEU x100 of the `indices` subset with sacrebleu `options` (refs padded with "")."""
    # `refs` arrive padded with "" to three, so no stream holds None: multi-bleu's empty lines.
    # force=True only silences sacrebleu's "already tokenised" warning; the text IS tokenised.
    metric = BLEU(**options, force=True)
    return float(metric.corpus_score([hyps[i] for i in indices], _streams(refs, indices)).score)


def ter_statistics(hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> list[tuple[float, float]]:
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


def corpus_ter(statistics: Sequence[tuple[float, float]], indices: Sequence[int]) -> float:
    """Corpus TER (a fraction) of the `indices` subset from `ter_statistics`."""
    edits = sum(statistics[i][0] for i in indices)
    length = sum(statistics[i][1] for i in indices)
    if length > 0:
        return edits / length  # a fraction, unrounded
    return 1.0 if edits > 0 else 0.0  # sacrebleu's (and tercom's) convention for empty references


def cell(
    indices: Sequence[int], subset: str, compute: Callable[[Sequence[int]], float]
) -> float | str:
    """`compute(indices)`, or a "not computed" string when the subset is empty."""
    if not indices:
        return f"not computed: no {subset} inputs"
    return compute(indices)


def meteor_cells(
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


# --- provenance ---------------------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def bleu_signature(**options: object) -> str:
    """sacrebleu signature of the BLEU configuration `options` with three references (nrefs:3)."""
    metric = BLEU(**options)
    metric.corpus_score(["a b"], [["a b"], ["a"], [""]])
    return str(metric.get_signature())


@functools.lru_cache(maxsize=1)
def ter_signature() -> str:
    """sacrebleu signature of the TER configuration (tercom defaults)."""
    metric = TER()
    metric.corpus_score(["a b", "a"], [["a b", "a"], ["a", None]])
    return str(metric.get_signature())


def java_provenance(meteor_references: int) -> dict[str, str]:
    """Java version, METEOR jar hash and the METEOR command line (``-r meteor_references``)."""
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
