"""E2E NLG scores equal to the official scorer (tuetschek/e2e-metrics `measure_scores.py -p`).

Strings in, numbers out, on the paper's printed scale: BLEU, METEOR and ROUGE-L x100; NIST and CIDEr
raw. Each metric and why it is computed the way it is (implementation notes D.1, D.5; R29-R32):

* BLEU: sacrebleu `corpus_bleu(tokenize='13a', lowercase=True)` with the references transposed into
  streams padded with `None` -- identical to pymteval's case-insensitive, closest-length BLEU.
* NIST: `benchmark.metrics.mteval.corpus_nist` (mteval-v13a style; nltk's `corpus_nist` is ~1.2 off).
* METEOR 1.5, ROUGE-L, CIDEr-D: pycocoevalcap's metrics on PTB-tokenised, lower-cased texts with
  punctuation removed (`benchmark.metrics.coco`). Without `java` METEOR is the string
  `"not computed: java not found"` and ROUGE-L/CIDEr use a regex tokeniser; `e2e_provenance()`
  says which tokeniser was used.

Like the official scorer reading its files, every text has its line breaks replaced by spaces
and is stripped before scoring.

Usage:
    from benchmark.metrics import score_e2e, e2e_provenance, write_e2e_references, write_lines
    scores = score_e2e(predictions, references)   # {'bleu': 60.61, 'nist': 8.6364, ...}
    write_lines("out/e2e_hyp.txt", predictions)
    write_e2e_references("out/e2e_ref.txt", references)
    # rescore with the official scorer: ./measure_scores.py -p out/e2e_ref.txt out/e2e_hyp.txt
"""

from __future__ import annotations

import functools
import importlib.metadata
import logging
import os
from collections.abc import Sequence

from sacrebleu.metrics import BLEU

from benchmark.metrics import coco, java
from benchmark.metrics.inputs import check_inputs
from benchmark.metrics.mteval import corpus_nist

log = logging.getLogger(__name__)

# Bump whenever any E2E number could change for the same strings; every result row records it.
METRICS_VERSION = "e2e-metrics-parity-1"
SCORER = (
    "tuetschek/e2e-metrics measure_scores.py -p, reimplemented "
    "(sacrebleu BLEU, mteval-style NIST, pycocoevalcap METEOR/ROUGE-L/CIDEr)"
)
BLEU_OPTIONS = {"tokenize": "13a", "lowercase": True}  # pymteval is case-insensitive by default
E2E_METRICS = ("bleu", "nist", "meteor", "rouge_l", "cider")  # the paper's Table 1 column order


def _clean(text: str) -> str:
    # The official scorer reads one text per line and strips each line.
    return coco.one_line(text).strip()


def _validated(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    hyps, refs = check_inputs(hypotheses, references)
    return [_clean(hyp) for hyp in hyps], [[_clean(ref) for ref in group] for group in refs]


def bleu_streams(references: Sequence[Sequence[str]]) -> list[list[str | None]]:
    """Transpose per-instance reference lists into sacrebleu reference streams.

    Stream k holds every instance's k-th reference, or `None` where an instance has fewer than k+1
    references (sacrebleu then ignores it, matching the official scorer's variable-reference BLEU;
    an empty string instead would count as a zero-length reference in the brevity penalty).
    """
    stream_count = max((len(refs) for refs in references), default=0)
    return [
        [refs[k] if k < len(refs) else None for refs in references] for k in range(stream_count)
    ]


def corpus_bleu(hypotheses: Sequence[str], references: Sequence[Sequence[str]]) -> float:
    """E2E BLEU x100 (sacrebleu 13a, lower-cased, `None`-padded streams).

    Equal to pymteval's BLEU except on degenerate corpora where some n-gram order has no match at
    all: sacrebleu's default 'exp' smoothing then gives a small positive score where pymteval's
    1e-15 floor gives ~0. Real E2E outputs never hit this.
    """
    # force=True only silences sacrebleu's "looks tokenised" warning: E2E texts ARE tokenised
    # ("city centre ."), exactly as the official scorer sees them; the score is unchanged.
    metric = BLEU(**BLEU_OPTIONS, force=True)
    return float(metric.corpus_score(list(hypotheses), bleu_streams(references)).score)


def score_e2e(hypotheses: list[str], references: list[list[str]]) -> dict[str, float | str]:
    """Score E2E outputs like `measure_scores.py -p`, on the paper's printed scale.

    Args:
        hypotheses: one system output per input (an empty string is allowed).
        references: for each input, its list of references (at least one).

    Returns:
        `{"bleu", "nist", "meteor", "rouge_l", "cider"}`: BLEU, METEOR, ROUGE-L x100; NIST, CIDEr
        raw. `meteor` is the string `"not computed: java not found"` when there is no `java`.

    Raises:
        ValueError / TypeError: mismatched or empty inputs.
        benchmark.metrics.java.JavaToolError: `java` exists but a jar failed or timed out.
    """
    hyps, refs = _validated(hypotheses, references)
    scores: dict[str, float | str] = {
        "bleu": corpus_bleu(hyps, refs),
        "nist": corpus_nist(hyps, refs),
    }
    java_path = java.find_java()
    if java_path is None:
        log.warning("java not found: METEOR not computed; ROUGE-L/CIDEr use the regex tokeniser")
        hyps_tok = [coco.regex_tokenize(hyp) for hyp in hyps]
        refs_tok = [[coco.regex_tokenize(ref) for ref in instance] for instance in refs]
        scores["meteor"] = java.JAVA_NOT_FOUND
    else:
        # One PTBTokenizer run for all texts (JVM start-up dominates); split back afterwards.
        flat_refs = [ref for instance in refs for ref in instance]
        tokenized = coco.ptb_tokenize(flat_refs + hyps, java_path)
        hyps_tok = tokenized[len(flat_refs) :]
        refs_tok, start = [], 0
        for instance in refs:
            refs_tok.append(tokenized[start : start + len(instance)])
            start += len(instance)
        scores["meteor"] = 100.0 * coco.meteor(hyps_tok, refs_tok, java_path)[0]
    scores["rouge_l"] = 100.0 * coco.rouge_l(hyps_tok, refs_tok)
    scores["cider"] = coco.cider_d(hyps_tok, refs_tok)
    return {name: scores[name] for name in E2E_METRICS}


@functools.lru_cache(maxsize=1)
def bleu_signature() -> str:
    """sacrebleu signature of the E2E BLEU configuration (nrefs:var, as E2E reference counts vary)."""
    metric = BLEU(**BLEU_OPTIONS)
    # A two-instance corpus with 2 and 1 references makes sacrebleu fill in nrefs:var.
    metric.corpus_score(["a", "a"], [["a", "a"], ["a", None]])
    return str(metric.get_signature())


def e2e_provenance() -> dict[str, str]:
    """What produced the E2E numbers in this environment, for every result row (R37)."""
    java_path = java.find_java()
    try:
        jar_hash = java.sha256_file(java.meteor_jar())
    except java.JavaToolError:
        jar_hash = "missing"
    return {
        "scorer": SCORER,
        "metrics_version": METRICS_VERSION,
        "bleu_signature": bleu_signature(),
        "sacrebleu_version": importlib.metadata.version("sacrebleu"),
        "pycocoevalcap_version": importlib.metadata.version("pycocoevalcap"),
        "java_version": java.java_version(java_path) if java_path else "none",
        "meteor_jar_sha256": jar_hash,
        "meteor_command": " ".join(
            ["java", *coco.JAVA_OPTIONS, "-jar", coco.METEOR_HEAP, "meteor-1.5.jar"]
            + list(coco.METEOR_ARGS)
        ),
        "coco_tokenizer": coco.PTB_TOKENIZER if java_path else coco.REGEX_TOKENIZER,
    }


# --- files in the official scorer's layout ------------------------------------------------------
def write_lines(path: str | os.PathLike[str], lines: Sequence[str]) -> None:
    """Write one text per line (UTF-8), line breaks inside a text replaced by spaces.

    This is the system-output layout of `measure_scores.py`; an empty text becomes an empty line.
    """
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        for line in lines:
            handle.write(coco.one_line(line) + "\n")


def write_e2e_references(path: str | os.PathLike[str], references: Sequence[Sequence[str]]) -> None:
    """Write references in `measure_scores.py`'s multi-reference layout.

    The references of one input go on consecutive lines and a blank line separates inputs, so an
    empty (or all-space) reference cannot be represented and raises ValueError. The official
    reader treats a file with a single block as single-reference data (one input per line), so a
    one-input corpus with several references cannot be rescored by it.
    """
    blocks = []
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            raise TypeError(f"references[{index}] is a string; it must be a list of strings")
        if not refs:
            raise ValueError(f"references[{index}] is empty; every input needs a reference")
        lines = [coco.one_line(ref) for ref in refs]
        if any(not line.strip() for line in lines):
            raise ValueError(
                f"references[{index}] has an empty reference; the layout cannot hold it"
            )
        blocks.append("".join(line + "\n" for line in lines))
    with open(path, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("\n".join(blocks))


def read_lines(path: str | os.PathLike[str]) -> list[str]:
    """Read a one-text-per-line file as the official scorer does (each line stripped)."""
    with open(path, encoding="utf-8", newline="") as handle:
        # str.splitlines breaks where the official scorer's codecs reader breaks lines.
        return [line.strip() for line in handle.read().splitlines()]


def read_e2e_references(path: str | os.PathLike[str]) -> list[list[str]]:
    """Read a multi-reference file as the official scorer does (blank line = next input)."""
    groups: list[list[str]] = [[]]
    for line in read_lines(path):
        if line:
            groups[-1].append(line)
        else:
            groups.append([])
    if not groups[-1]:
        groups.pop()
    return groups
