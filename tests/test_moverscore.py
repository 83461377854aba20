"""MoverScore (DART's moverscore.py, moverscore 1.0.3) on a tiny DistilBERT built here."""

from __future__ import annotations

import itertools
import math
import sys
from pathlib import Path

import pytest
import torch
from transformers import BertTokenizer, DistilBertConfig, DistilBertModel

from benchmark.metrics import moverscore
from benchmark.metrics.dart import dart_provenance, normalize_dart, score_dart

WORDS = ["the", "cat", "sat", "a", "dog", "ran", "on", "mat", "sit", "##ting", "big", "red", "."]


@pytest.fixture(scope="module")
def tiny_distilbert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-layer DistilBERT with a lower-casing WordPiece vocabulary, saved as a local model."""
    directory = tmp_path_factory.mktemp("tiny-distilbert")
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *WORDS]
    (directory / "vocab.txt").write_text("\n".join(vocab) + "\n")
    BertTokenizer(str(directory / "vocab.txt"), do_lower_case=True).save_pretrained(directory)
    torch.manual_seed(0)
    config = DistilBertConfig(
        vocab_size=len(vocab), dim=16, hidden_dim=32, n_layers=2, n_heads=2, pad_token_id=0
    )
    DistilBertModel(config).eval().save_pretrained(directory)
    return directory


@pytest.fixture
def scorer(tiny_distilbert: Path, monkeypatch: pytest.MonkeyPatch) -> moverscore.MoverScorer:
    monkeypatch.setenv(moverscore.MODEL_ENV, str(tiny_distilbert))
    return moverscore.load_scorer()


def _brute_force(directory: Path, hyp: str, ref: str) -> float:
    """1 - the cheapest one-to-one matching of content tokens, one sentence at a time.

    With equal numbers of content tokens of equal weight, an optimal transport plan is a
    permutation (Birkhoff-von Neumann), so trying every permutation solves the EMD exactly.
    """
    model = DistilBertModel.from_pretrained(directory).eval()
    tokenizer = BertTokenizer.from_pretrained(directory)

    def content(text: str) -> list[torch.Tensor]:
        tokens = tokenizer.tokenize(text)
        ids = tokenizer.convert_tokens_to_ids(["[CLS]", *tokens, "[SEP]"])
        with torch.no_grad():
            states = model(torch.tensor([ids])).last_hidden_state[0][1:-1]
        kept = [s for s, t in zip(states, tokens, strict=True) if "##" not in t and t != "."]
        return [s / s.norm() for s in kept]

    h, r = content(hyp), content(ref)
    assert len(h) == len(r)
    best = min(
        sum(float((r[i] - h[j]).norm()) for i, j in enumerate(perm)) / len(r)
        for perm in itertools.permutations(range(len(h)))
    )
    return 1.0 - best


def test_scores_equal_an_exact_brute_force(
    scorer: moverscore.MoverScorer, tiny_distilbert: Path
) -> None:
    # each content word occurs in one hypothesis (and one reference) only, so every content
    # token weighs the same idf; "." and "##ting" weigh 0 and [CLS]/[SEP] (in every sentence) 0
    hyps = ["the cat sat .", "a dog ran on mat", "big red"]
    refs = ["cat the sitting", "mat on a ran dog", "red big ."]
    got = moverscore.sentence_scores(scorer, hyps, refs)
    for hyp, ref, score in zip(hyps, refs, got, strict=True):
        assert score == pytest.approx(_brute_force(tiny_distilbert, hyp, ref), abs=1e-5)
    # 1 - distance: below 0 where the (random) embeddings lie further apart than 1
    assert min(got) < 0.0 < max(got) < 1.0
    assert moverscore.corpus_score(scorer, hyps, refs) == pytest.approx(sum(got) / 3)


def test_token_weights_are_idf_with_subwords_and_punctuation_dropped(
    scorer: moverscore.MoverScorer,
) -> None:
    corpus = ["the cat sat .", "the dog", "a big cat sitting"]
    idf = moverscore.idf_table(scorer, corpus)
    # [CLS] the cat sit ##ting [SEP] / "the" is in 2 of 3 sentences, "cat" in 2, "sit" in 1
    assert scorer.tokens("The cat sitting") == ["[CLS]", "the", "cat", "sit", "##ting", "[SEP]"]
    weights = moverscore.token_weights(scorer, "The cat sitting", idf)
    assert weights == pytest.approx([0.0, math.log(4 / 3), math.log(4 / 3), math.log(2), 0, 0])
    assert moverscore.token_weights(scorer, "mat .", idf) == pytest.approx([0, math.log(4), 0, 0])


def test_identity_and_the_empty_hypothesis(scorer: moverscore.MoverScorer) -> None:
    same = ["the cat sat", "a dog ran"]
    # |x|^2 + |y|^2 - 2xy in float32 (as moverscore) leaves ~1e-7 before the square root
    assert moverscore.sentence_scores(scorer, same, same) == pytest.approx([1.0, 1.0], abs=1e-3)
    # moverscore 1.0.3: an empty hypothesis has no mass, no flow, and scores 1 - 0 = 1
    scores = moverscore.sentence_scores(scorer, ["", "the dog"], ["the cat", "a dog"])
    assert scores[0] == 1.0 and scores[1] < 1.0


def test_dart_cell_uses_reference_zero_and_records_the_model(
    scorer: moverscore.MoverScorer,
) -> None:
    hyps = ["The Cat sat.", "A dog ran on the mat"]
    refs = [["cat the sitting", "a big red mat"], ["the dog ran", "mat"]]
    cell = score_dart(hyps, refs, with_meteor=False)["moverscore"]
    expected = moverscore.corpus_score(
        scorer, [normalize_dart(h) for h in hyps], ["cat the sitting", "the dog ran"]
    )
    assert cell == pytest.approx(expected)
    other_refs = [[refs[0][0], "the"], [refs[1][0], "cat"]]  # references 1+ do not count
    assert score_dart(hyps, other_refs, with_meteor=False)["moverscore"] == pytest.approx(cell)
    assert dart_provenance()["moverscore"] == scorer.describe()
    assert str(scorer.name) in scorer.describe() and "1 - EMD" in scorer.describe()


def test_missing_model_or_solver_is_a_reason_not_a_number(
    tmp_path: Path, tiny_distilbert: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(moverscore.MODEL_ENV, str(tmp_path / "absent"))
    cell = score_dart(["a b"], [["a b"]], with_meteor=False)["moverscore"]
    assert cell.startswith("not computed: MoverScore: ") and "not found locally" in cell
    moverscore._load.cache_clear()
    monkeypatch.setitem(sys.modules, "pyemd", None)  # import pyemd -> ImportError
    monkeypatch.setenv(moverscore.MODEL_ENV, str(tiny_distilbert))
    with pytest.raises(moverscore.MoverScoreUnavailable, match="pyemd package"):
        moverscore.load_scorer()
    moverscore._load.cache_clear()
