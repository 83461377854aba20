"""WebNLG / DART (BLEU, METEOR, TER) and XSUM (ROUGE) scorers: parity with the official reference
files, hand-computed cases, the blank-reference rule, seen/unseen splitting, and "not computed" cells.

Parity tests read the real data and the official reference files from $BENCHMARK_DATA_DIR, else
<repo>/../shared/data (skipped without them). The METEOR tests start the jar twice (~10 s each) and
are skipped without `java`.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
from sacrebleu.metrics import BLEU

from benchmark.data.dart import load_dart
from benchmark.data.webnlg import load_webnlg, webnlg_seen_mask
from benchmark.metrics import java
from benchmark.metrics.dart import (
    DART_METRICS,
    dart_provenance,
    dart_reference_streams,
    normalize_dart,
    score_dart,
)
from benchmark.metrics.rouge import score_xsum, xsum_provenance
from benchmark.metrics.webnlg import (
    WEBNLG_METRICS,
    normalize_webnlg_hypothesis,
    normalize_webnlg_reference,
    score_webnlg,
    webnlg_provenance,
    webnlg_reference_streams,
)

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]
HAS_JAVA = shutil.which("java") is not None


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = data_root()
    needed = [
        path / "webnlg" / "eval_references" / "gold-all-cat-reference0.lex",
        path / "dart" / "eval_references" / "all-delex-reference0.lex",
    ]
    need_data(
        all(p.is_file() for p in needed),
        f"WebNLG/DART reference files not found under {path} (set BENCHMARK_DATA_DIR)",
    )
    return path


def _lines(path: Path) -> list[str]:
    # newline=None: the DART files use CRLF, which text mode reads as "\n", as prepare_files.py does.
    with open(path, encoding="utf-8") as handle:
        return handle.read().split("\n")[:-1]


# ----------------------------------------------------------------------------- reference parity


def test_webnlg_references_equal_official_files(data_dir: Path) -> None:
    """XML lexicalisations through our normaliser = gold-all-cat-reference{0,1,2}.lex, every line."""
    streams = webnlg_reference_streams([ex.references for ex in load_webnlg(data_dir, "test")])
    folder = data_dir / "webnlg" / "eval_references"
    total = agree = 0
    for k, stream in enumerate(streams):
        official = _lines(folder / f"gold-all-cat-reference{k}.lex")
        assert len(official) == len(stream) == 1_862
        total += len(stream)
        agree += sum(ours == theirs for ours, theirs in zip(stream, official))
    assert (agree, total) == (5_586, 5_586)  # agreement rate pinned at 100%
    # The hypothesis normaliser (unidecode first) gives the same strings on these texts.
    first = [normalize_webnlg_hypothesis(ex.references[0]) for ex in load_webnlg(data_dir, "test")]
    assert first == _lines(folder / "gold-all-cat-reference0.lex")


def test_dart_references_equal_pinned_files(data_dir: Path) -> None:
    """Test XML annotations through `normalize_dart` = all-delex-reference{0,1,2}.lex (4768cf7)."""
    streams = dart_reference_streams([ex.references for ex in load_dart(data_dir, "test")])
    folder = data_dir / "dart" / "eval_references"
    total = agree = 0
    for k, stream in enumerate(streams):
        official = _lines(folder / f"all-delex-reference{k}.lex")
        assert len(official) == len(stream) == 5_097
        total += len(stream)
        agree += sum(ours == theirs for ours, theirs in zip(stream, official))
    assert (agree, total) == (15_291, 15_291)
    assert sum(bool(line) for line in streams[1]) == 3_621
    assert sum(bool(line) for line in streams[2]) == 2_527


def test_normalisers() -> None:
    hyp = "Adolfo Suárez Madrid–Barajas Airport's runway is 18L/36R."
    assert normalize_webnlg_hypothesis(hyp) == (
        "adolfo suarez madrid - barajas airport ' s runway is 18l / 36r ."
    )
    assert normalize_webnlg_reference(hyp) == normalize_webnlg_hypothesis(hyp)
    assert normalize_dart("In 1982,  Jed Jenkins\nplayed Suárez.") == (
        "in 1982 , jed jenkins played suárez ."
    )


# ----------------------------------------------------------------------------- BLEU and TER


def test_bleu_hand_computed() -> None:
    # All n-gram precisions 1, hypothesis 4 tokens vs reference 6: BP = exp(1 - 6/4).
    scores = score_webnlg(["a b c d"], [["a b c d e f"]], [True], with_meteor=False)
    assert scores["bleu_all"] == pytest.approx(100 * math.exp(-0.5))
    assert scores["bleu_seen"] == scores["bleu_all"]
    assert scores["bleu_unseen"] == "not computed: no unseen inputs"
    assert scores["ter_all"] == pytest.approx(2 / 6)  # two insertions over six reference words


def test_missing_references_are_empty_strings_not_none() -> None:
    """multi-bleu reads an entry's missing reference as an EMPTY line: a zero-length reference
    that can be the closest length in the brevity penalty. Here it makes BP 1 (BLEU 100); a
    sacrebleu stream padded with None (reference ignored) gives BP exp(1 - 9/6) instead."""
    hyps, refs = ["a b c d", "e f"], [["a b c d"], ["e f g h i"]]
    scores = score_webnlg(hyps, refs, [True, True], with_meteor=False)
    assert scores["bleu_all"] == pytest.approx(100.0)
    bleu = BLEU(tokenize="none", lowercase=True, smooth_method="none", force=True)
    with_none = bleu.corpus_score(hyps, [["a b c d", "e f g h i"], [None, None], [None, None]])
    assert with_none.score == pytest.approx(100 * math.exp(-0.5))
    assert dart_reference_streams(refs)[1] == ["", ""]


def test_ter_hand_computed() -> None:
    # One substitution over 4 words; with two references tercom keeps the fewest edits (1) but
    # divides by the AVERAGE reference length (4 + 6) / 2.
    assert score_webnlg(["a b c d"], [["a b x d"]], [False], with_meteor=False)[
        "ter_unseen"
    ] == pytest.approx(0.25)
    two = score_webnlg(["a b c d"], [["a b x d", "a b c d e f"]], [True], with_meteor=False)
    assert two["ter_all"] == pytest.approx(0.2)


def test_seen_unseen_splitting() -> None:
    hyps = ["the cat sat on the mat", "zzz yyy", "a dog ran in the park"]
    refs = [["the cat sat on the mat"], ["one two three four"], ["a dog ran in the park"]]
    scores = score_webnlg(hyps, refs, [True, False, True], with_meteor=False)
    assert scores["bleu_seen"] == pytest.approx(100.0)
    assert scores["bleu_unseen"] == pytest.approx(0.0)
    assert 0.0 < scores["bleu_all"] < 100.0
    assert scores["ter_seen"] == pytest.approx(0.0) and scores["ter_unseen"] == pytest.approx(1.0)
    # "all" is one corpus: TER = all edits over all reference words.
    assert scores["ter_all"] == pytest.approx(4 / (6 + 4 + 6))
    # A subset's score is that of the subset scored on its own.
    alone = score_webnlg([hyps[0], hyps[2]], [refs[0], refs[2]], [True, True], with_meteor=False)
    assert alone["bleu_all"] == scores["bleu_seen"]
    assert list(scores) == list(WEBNLG_METRICS)
    with pytest.raises(ValueError, match="seen_mask has 2 entries"):
        score_webnlg(hyps, refs, [True, False], with_meteor=False)


def test_webnlg_normalises_hypotheses_like_the_official_script() -> None:
    # Case, accents and punctuation spacing do not matter; words do.
    scores = score_webnlg(
        ["ADOLFO SUÁREZ Madrid–Barajas airport."],
        [["Adolfo Suarez Madrid - Barajas Airport ."]],
        [True],
        with_meteor=False,
    )
    assert scores["bleu_all"] == pytest.approx(100.0) and scores["ter_all"] == 0.0


def test_webnlg_leave_one_out_regression(data_dir: Path) -> None:
    """Pinned numbers (last reference as hypothesis, the others as references) on test inputs
    0-199 (seen) and 971-1120 (unseen, the short end of their categories: sacrebleu's TER is slow
    on long ones), so that any change of normalisation or reference streams shows up."""
    test, mask = load_webnlg(data_dir, "test"), webnlg_seen_mask(data_dir)
    picked = [*range(200), *range(971, 1121)]
    usable = [i for i in picked if len(test[i].references) > 1]
    hyps = [test[i].references[-1] for i in usable]
    refs = [list(test[i].references[:-1]) for i in usable]
    scores = score_webnlg(hyps, refs, [mask[i] for i in usable], with_meteor=False)
    assert (len(usable), sum(mask[i] for i in usable)) == (297, 175)
    pinned = {
        "bleu_seen": 54.5863,
        "bleu_unseen": 51.0618,
        "bleu_all": 53.1446,
        "ter_seen": 0.32290,
        "ter_unseen": 0.33312,
        "ter_all": 0.32707,
    }
    for name, value in pinned.items():
        assert scores[name] == pytest.approx(value, abs=1e-4), name


def test_dart_bleu_is_case_sensitive_on_normalised_text() -> None:
    scores = score_dart(["The Cat sat."], [["the cat sat ."]], with_meteor=False)
    assert scores["bleu"] == pytest.approx(100.0)  # normalisation lower-cases like the references
    assert "case:mixed" in dart_provenance()["bleu_signature"]  # multi-bleu without -lc
    assert "case:lc" in webnlg_provenance()["bleu_signature"]  # multi-bleu -lc


def test_dart_ter_ignores_blank_references() -> None:
    # prepare_files.py keeps reference 0 and the NON-empty references 1 and 2: one substitution
    # over 4 words, not over the average length (4 + 0 + 0) / 3 of blank-padded references.
    scores = score_dart(["a b x d"], [["a b c d"]], with_meteor=False)
    assert scores["ter"] == pytest.approx(0.25)
    assert scores["bleu"] == pytest.approx(0.0)  # no 3-gram match and no smoothing (multi-bleu)


def test_dart_model_metrics_are_never_made_up() -> None:
    # conftest points BERTScore at a missing model, as on a fresh machine
    scores = score_dart(["a b"], [["a b"]], with_meteor=False)
    assert list(scores) == list(DART_METRICS)
    for name in ("moverscore", "bertscore", "bleurt"):
        assert isinstance(scores[name], str) and scores[name].startswith("not computed: ")
    assert scores["meteor"] == "not computed: METEOR skipped (with_meteor=False)"


def test_input_validation() -> None:
    with pytest.raises(ValueError, match="2 hypotheses but 1 reference lists"):
        score_dart(["a", "b"], [["a"]])
    with pytest.raises(ValueError, match="references\\[0\\] is empty"):
        score_webnlg(["a"], [[]], [True])
    with pytest.raises(TypeError, match="is a string"):
        score_dart(["a"], ["a"])  # type: ignore[list-item]


# ----------------------------------------------------------------------------- METEOR


def test_meteor_without_java_is_a_string(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(java, "find_java", lambda: None)
    scores = score_webnlg(["a b"], [["a b"]], [True])
    assert scores["meteor_seen"] == scores["meteor_all"] == java.JAVA_NOT_FOUND
    assert score_dart(["a b"], [["a b"]])["meteor"] == java.JAVA_NOT_FOUND
    assert webnlg_provenance()["java_version"] == "none"


@pytest.mark.skipif(not HAS_JAVA, reason="java not on PATH: METEOR jar cannot run")
def test_webnlg_meteor_with_jar() -> None:
    # Identical texts score exactly 1 (no fragmentation), blank padding references included;
    # seen == all is computed once, unseen is empty.
    hyps = ["the cat sat on the mat .", "Abilene, Texas is served by the Abilene regional airport."]
    refs = [[hyps[0]], [hyps[1], "Abilene Regional Airport serves the city of Abilene in Texas."]]
    scores = score_webnlg(hyps, refs, [True, True])
    assert scores["meteor_all"] == pytest.approx(1.0)
    assert scores["meteor_seen"] == scores["meteor_all"]
    assert scores["meteor_unseen"] == "not computed: no unseen inputs"


@pytest.mark.skipif(not HAS_JAVA, reason="java not on PATH: METEOR jar cannot run")
def test_dart_meteor_with_jar() -> None:
    # Equal after DART normalisation (case, punctuation spacing) -> exactly 1, with the references
    # blank-padded to 8 (METEOR keeps the best reference; a blank one never wins).
    same = score_dart(["A school joined in 1973.", "x"], [["a school joined in 1973 ."], ["x"]])
    assert same["meteor"] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- XSUM ROUGE


def test_rouge_identical_is_100() -> None:
    texts = ["The cat sat on the mat.", "Prices rose by 3% in May."]
    assert score_xsum(texts, texts) == {"rouge1": 100.0, "rouge2": 100.0, "rougeL": 100.0}
    assert score_xsum(texts, [[t] for t in texts], bootstrap=True)["rouge2"] == pytest.approx(100)


def test_rouge_hand_computed() -> None:
    # hyp: the cat sat; ref: the cat sat on the mat. R-1: P 3/3, R 3/6 -> F 2/3. R-2: bigrams
    # (the cat)(cat sat) both in the reference: P 2/2, R 2/5 -> F 4/7. R-L: LCS 3 -> F 2/3.
    scores = score_xsum(["the cat sat"], ["the cat sat on the mat"])
    assert scores["rouge1"] == pytest.approx(100 * 2 / 3)
    assert scores["rouge2"] == pytest.approx(100 * 4 / 7)
    assert scores["rougeL"] == pytest.approx(100 * 2 / 3)
    # Porter stemming (tokens longer than 3 characters): cats -> cat, running/runs -> run.
    assert score_xsum(["cats running"], ["cat runs"])["rouge1"] == pytest.approx(100.0)
    # The corpus value is the mean over instances.
    both = score_xsum(["the cat sat", "a b"], ["the cat sat on the mat", "a b"])
    assert both["rouge1"] == pytest.approx((100 * 2 / 3 + 100) / 2)


def test_rouge_bootstrap_options() -> None:
    hyps = ["the cat sat", "a b", "c d", "e f g"]
    refs = ["the cat sat on the mat", "a b", "c e", "e f g"]
    first = score_xsum(hyps, refs, bootstrap=True, seed=1)
    assert first == score_xsum(hyps, refs, bootstrap=True, seed=1)  # seeded: reproducible
    per_batch = score_xsum(hyps, refs, bootstrap=True, batch_size=2, seed=1)
    assert set(per_batch) == {"rouge1", "rouge2", "rougeL"}
    with pytest.raises(ValueError, match="needs bootstrap=True"):
        score_xsum(hyps, refs, batch_size=2)
    with pytest.raises(ValueError, match="exactly one"):
        score_xsum(["a"], [["a", "b"]])
    assert xsum_provenance()["rouge_score_version"] == "0.1.2"


def test_provenance_keys() -> None:
    for provenance in (webnlg_provenance(), dart_provenance()):
        assert {"scorer", "metrics_version", "bleu_signature", "ter_signature"} <= set(provenance)
        assert (
            "tok:none" in provenance["bleu_signature"]
            and "smooth:none" in provenance["bleu_signature"]
        )
    assert "-r 3" in webnlg_provenance()["meteor_command"]
    assert "-r 8" in dart_provenance()["meteor_command"]
