"""WebNLG 2017 scores equal to the official challenge evaluation scripts (BLEU, METEOR, TER).

Strings in, numbers out, on the paper's printed scale: BLEU x100, METEOR and TER fractions
[setup.md §7]. What `webnlg-automatic-evaluation` (vendored in Yale-LILY/dart `evaluation/`)
does and how it is reproduced (implementation notes D.2, D.3, D.5; R33-R35); the BLEU, METEOR and
TER machinery shared with DART is `benchmark.metrics.multiref`:

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

Cost: TER ~100 s for the 1,862 WebNLG test inputs on 2 cores, computed once per instance and
summed per subset; METEOR starts the jar (~6-12 s) once per distinct non-empty subset, i.e. up to
three times.

Usage:
    from benchmark.data.webnlg import load_webnlg, webnlg_seen_mask
    from benchmark.metrics.webnlg import score_webnlg
    test = load_webnlg(data_dir, "test")
    scores = score_webnlg(outputs, [ex.references for ex in test], webnlg_seen_mask(data_dir))
    # {'bleu_seen': .., 'bleu_unseen': .., 'bleu_all': .., 'meteor_seen': .., ..., 'ter_all': ..}
"""

from __future__ import annotations

import importlib.metadata
from collections.abc import Sequence

from unidecode import unidecode

from benchmark.metrics import coco
from benchmark.metrics.inputs import check_inputs
from benchmark.metrics.multiref import (
    BLEU_REFERENCES,
    bleu_signature,
    cell,
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
WEBNLG_METRICS_VERSION = "webnlg2017-parity-1"

WEBNLG_SCORER = (
    "WebNLG 2017 challenge evaluation (webnlg-automatic-evaluation as vendored in Yale-LILY/dart "
    "bb644b1), reimplemented: sacrebleu BLEU = multi-bleu.perl -lc, METEOR 1.5 jar, sacrebleu TER"
)
WEBNLG_SUBSETS = ("seen", "unseen", "all")  # the paper's S / U / A columns
WEBNLG_METRICS = tuple(
    f"{metric}_{subset}" for metric in ("bleu", "meteor", "ter") for subset in WEBNLG_SUBSETS
)

WEBNLG_METEOR_REFERENCES = 3  # meteor_eval.sh: -r 3
WEBNLG_BLEU_OPTIONS = {"tokenize": "none", "lowercase": True, "smooth_method": "none"}  # -lc

WEBNLG_NORMALISATION = (
    "evaluation.py: hyp = ws-collapse(re.split('(\\W)', unidecode(lower(unidecode(strip(hyp)))))); "
    "ref = unidecode(lower(ws-collapse(re.split('(\\W)', ref))))"
)


# --- normalisation ------------------------------------------------------------------------------
def normalize_webnlg_hypothesis(text: str) -> str:
    """A system output as `evaluation.py` writes it for scoring (read_participant + write_to_file).

    ``"Adolfo Suárez Madrid–Barajas Airport's runway"`` -> ``"adolfo suarez madrid - barajas
    airport ' s runway"``.
    """
    text = unidecode(coco.one_line(text).strip())
    return word_split(unidecode(text.lower()))


def normalize_webnlg_reference(text: str) -> str:
    """A reference as `evaluation.py` writes it into `gold-*-reference*.lex` (bleu_ref_files_gen)."""
    return unidecode(word_split(coco.one_line(text)).lower())


# --- public scorer ------------------------------------------------------------------------------
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
    refs = first_references(refs, normalize_webnlg_reference)
    subsets = {
        "seen": [i for i, seen in enumerate(seen_mask) if seen],
        "unseen": [i for i, seen in enumerate(seen_mask) if not seen],
        "all": list(range(len(hyps))),
    }
    bleu_refs = [padded(instance, BLEU_REFERENCES, "") for instance in refs]
    meteor_refs = [padded(instance, WEBNLG_METEOR_REFERENCES, "") for instance in refs]
    statistics = ter_statistics(hyps, refs)  # TER: up to three references, none blank
    scores: dict[str, float | str] = {}
    for name, indices in subsets.items():
        scores[f"bleu_{name}"] = cell(
            indices, name, lambda ix: corpus_bleu(hyps, bleu_refs, ix, WEBNLG_BLEU_OPTIONS)
        )
        scores[f"ter_{name}"] = cell(indices, name, lambda ix: corpus_ter(statistics, ix))
    scores.update(
        {
            f"meteor_{name}": value
            for name, value in meteor_cells(hyps, meteor_refs, subsets, with_meteor).items()
        }
    )
    return {key: scores[key] for key in WEBNLG_METRICS}


def webnlg_reference_streams(references: Sequence[Sequence[str]]) -> list[list[str]]:
    """The three BLEU reference streams, normalised and blank-padded.

    Stream k, line i is what the official `gold-all-cat-reference{k}.lex` holds for input i, so
    `write_lines(path, stream)` recreates those files for a run with the official scripts.
    """
    return reference_streams(references, normalize_webnlg_reference)


# --- provenance ---------------------------------------------------------------------------------
def webnlg_provenance() -> dict[str, str]:
    """What produced the WebNLG numbers in this environment, for every result row (R37)."""
    return {
        "scorer": WEBNLG_SCORER,
        "metrics_version": WEBNLG_METRICS_VERSION,
        "bleu_signature": bleu_signature(**WEBNLG_BLEU_OPTIONS),
        "ter_signature": ter_signature(),
        "normalisation": WEBNLG_NORMALISATION,
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "unidecode_version": importlib.metadata.version("unidecode"),
        "pycocoevalcap_version": importlib.metadata.version("pycocoevalcap"),
        **java_provenance(WEBNLG_METEOR_REFERENCES),
    }
