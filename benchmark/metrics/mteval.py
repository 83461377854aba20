"""NIST as computed by the E2E scorer (tuetschek/e2e-metrics `measure_scores.py -p`).

The E2E challenge scorer's Python path (`metrics/pymteval.py`, which the Prefix-Tuning paper used)
computes NIST in the mteval-v13a way, which nltk's `corpus_nist` does not (nltk picks one best
reference per hypothesis and uses its length; about -1.2 NIST on E2E dev). This module is an
independent implementation of the same algorithm:

* tokenisation of mteval-v13a with `international=false` (`mteval_tokenize`), case-insensitive;
* n = 1..5; a hypothesis n-gram's hits are clipped by the MAX count of that n-gram over the
  instance's references (references are merged, not picked);
* information weights from n-gram counts over ALL references of the corpus:
  info(w1..wn) = log2(count(w1..wn-1) / count(w1..wn)), with count() of the empty prefix = the
  total number of reference tokens;
* score = sum over n of (information of hits / number of hypothesis n-grams), times the length
  penalty exp(-beta * ln(min(1, L_sys / L_ref))^2), beta = -ln(0.5) / ln(1.5)^2, where L_ref sums
  the AVERAGE reference length of each instance.

Usage:
    from benchmark.metrics.mteval import corpus_nist
    corpus_nist(["the cat sat"], [["the cat sat", "a cat sat"]])
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

NIST_MAX_ORDER = 5  # mteval-v13a and pymteval default
# mteval-v13a: the penalty is 0.5 when the system is 2/3 of the reference length.
NIST_BETA = -math.log(0.5) / math.log(1.5) ** 2

# mteval-v13a NormalizeText, language-independent part, in its order of application.
_SGML_STEPS = (
    ("<skipped>", ""),
    ("-\n", ""),  # end-of-line hyphenation
    ("\n", " "),
    ("&quot;", '"'),
    ("&amp;", "&"),
    ("&lt;", "<"),
    ("&gt;", ">"),
)
# mteval-v13a's punctuation class [\{-\~\[-\` -\&\(-\+\:-\@\/] spelled out (the space in it is
# left out: padding a space with spaces changes nothing after whitespace is collapsed).
# Apostrophe, comma, hyphen and period are deliberately absent: they get the rules below.
_MTEVAL_PUNCT = re.compile(r"([{|}~\[\\\]^_`!\"#$%&()*+:;<=>?@/])")
# These three are mteval's own rules; their exact left-to-right, non-overlapping matching is part
# of the tokenisation (e.g. for "..." or "a.,b"), so they are applied as written in mteval.
_PERIOD_COMMA_AFTER_NON_DIGIT = re.compile(r"([^0-9])([.,])")
_PERIOD_COMMA_BEFORE_NON_DIGIT = re.compile(r"([.,])([^0-9])")
_DASH_AFTER_DIGIT = re.compile(r"([0-9])(-)")
_WHITESPACE = re.compile(r"\s+")


def mteval_tokenize(text: str) -> list[str]:
    """Tokenise like mteval-v13a (international=false) and lower-case (E2E is case-insensitive).

    Like pymteval, an empty or all-space text yields one empty token `[""]`, so it counts as one
    token in the length statistics; this is kept for parity with the official scorer.
    """
    for old, new in _SGML_STEPS:
        text = text.replace(old, new)
    text = f" {text} "
    text = _MTEVAL_PUNCT.sub(r" \1 ", text)
    text = _PERIOD_COMMA_AFTER_NON_DIGIT.sub(r"\1 \2 ", text)
    text = _PERIOD_COMMA_BEFORE_NON_DIGIT.sub(r" \1 \2", text)
    text = _DASH_AFTER_DIGIT.sub(r"\1 \2 ", text)
    text = _WHITESPACE.sub(" ", text).strip()
    # Lower-casing commutes with the rules above (they only look at ASCII punctuation and digits).
    return text.lower().split(" ")


def _ngram_counts(tokens: Sequence[str], order: int) -> Counter[tuple[str, ...]]:
    return Counter(tuple(tokens[i : i + order]) for i in range(len(tokens) - order + 1))


def nist_length_penalty(system_length: float, reference_length: float) -> float:
    """NIST brevity factor: 1 when the system is at least as long as the (average) references."""
    if reference_length <= 0:
        return 1.0
    ratio = system_length / reference_length
    if ratio >= 1:
        return 1.0
    if ratio <= 0:
        return 0.0
    return math.exp(-NIST_BETA * math.log(ratio) ** 2)


def corpus_nist(
    hypotheses: Sequence[str],
    references: Sequence[Sequence[str]],
    max_order: int = NIST_MAX_ORDER,
) -> float:
    """Corpus NIST of `hypotheses` against per-instance reference lists (raw, untokenised strings).

    Equal to e2e-metrics' pymteval `NISTScore` whenever that one is defined. Two degenerate cases
    differ on purpose: an n-gram order whose hypothesis n-gram total is <= 0 (every hypothesis
    shorter than n) contributes 0 instead of raising ZeroDivisionError or adding a negative term.
    Hypothesis n-gram totals otherwise use len - n + 1 per instance WITHOUT clamping at 0, exactly
    as pymteval (a 1-token hypothesis subtracts from the 3..5-gram denominators).
    """
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    # ref_counts[n][ngram]: occurrences over all references of the corpus; ref_counts[0][()] is
    # the total reference token count, the denominator-side count for unigram information.
    ref_counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(max_order + 1)]
    # Clipped hits summed over the corpus: information weights are per n-gram and only known at
    # the end, so summing hits per n-gram first gives the same total as per-instance sums.
    hit_counts: list[Counter[tuple[str, ...]]] = [Counter() for _ in range(max_order + 1)]
    hyp_ngram_totals = [0] * (max_order + 1)
    system_length = 0
    avg_reference_length_sum = 0.0

    for hypothesis, instance_refs in zip(hypotheses, references):
        if not instance_refs:
            raise ValueError("every hypothesis needs at least one reference")
        hyp_tokens = mteval_tokenize(hypothesis)
        ref_tokens = [mteval_tokenize(ref) for ref in instance_refs]
        system_length += len(hyp_tokens)
        for order in range(1, max_order + 1):
            hyp_ngram_totals[order] += len(hyp_tokens) - order + 1
            merged_ref = Counter()
            for tokens in ref_tokens:
                counts = _ngram_counts(tokens, order)
                merged_ref |= counts  # union of Counters keeps the max count per n-gram
                ref_counts[order].update(counts)
            for ngram, count in _ngram_counts(hyp_tokens, order).items():
                hits = min(count, merged_ref[ngram])
                if hits:
                    hit_counts[order][ngram] += hits
        lengths = [len(tokens) for tokens in ref_tokens]
        ref_counts[0][()] += sum(lengths)
        avg_reference_length_sum += sum(lengths) / len(lengths)

    score = 0.0
    for order in range(1, max_order + 1):
        if hyp_ngram_totals[order] <= 0:
            continue
        information = sum(
            hits * math.log2(ref_counts[order - 1][ngram[:-1]] / ref_counts[order][ngram])
            for ngram, hits in hit_counts[order].items()
        )
        score += information / hyp_ngram_totals[order]
    return score * nist_length_penalty(system_length, avg_reference_length_sum)
