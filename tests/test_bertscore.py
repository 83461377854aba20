"""BERTScore (DART's `bert-score --lang en`), on a tiny RoBERTa built here: no weights download."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tokenizers.pre_tokenizers import ByteLevel
from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

from benchmark.metrics import bertscore
from benchmark.metrics.dart import dart_provenance, normalize_dart, score_dart

LAYER = 2  # of 3: the scorer must truncate, not take the last layer


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 3-layer RoBERTa with a byte-level vocabulary (plus " the"), saved as a local model."""
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for char in sorted(ByteLevel.alphabet()):
        vocab[char] = len(vocab)
    merges = [("Ġ", "t"), ("h", "e"), ("Ġt", "he")]
    for left, right in merges:
        vocab[left + right] = len(vocab)
    vocab["<mask>"] = len(vocab)
    tokenizer = RobertaTokenizer(vocab=vocab, merges=merges)
    torch.manual_seed(0)
    config = RobertaConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=3,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=130,
        pad_token_id=1,
    )
    directory = tmp_path_factory.mktemp("tiny-roberta")
    RobertaModel(config).eval().save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.fixture
def scorer(tiny_roberta: Path, monkeypatch: pytest.MonkeyPatch) -> bertscore.BertScorer:
    monkeypatch.setenv(bertscore.MODEL_ENV, str(tiny_roberta))
    monkeypatch.setenv(bertscore.LAYER_ENV, str(LAYER))
    return bertscore.load_scorer()


def _brute_force(directory: Path, hyp: str, ref: str) -> tuple[float, float, float]:
    """One sentence at a time through the full model, layer LAYER of its hidden states, loops."""
    model = RobertaModel.from_pretrained(directory).eval()
    tokenizer = RobertaTokenizer.from_pretrained(directory, add_prefix_space=True)

    def states(text: str) -> tuple[list[list[float]], list[float]]:
        ids = tokenizer(text.strip()).input_ids
        with torch.no_grad():
            hidden = model(torch.tensor([ids]), output_hidden_states=True).hidden_states[LAYER][0]
        rows = [(row / row.norm()).tolist() for row in hidden]
        return rows, [0.0 if i in (0, 2) else 1.0 for i in ids]

    (h, hw), (r, rw) = states(hyp), states(ref)

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    p = sum(w * max(cos(x, y) for y in r) for x, w in zip(h, hw, strict=True)) / sum(hw)
    rec = sum(w * max(cos(y, x) for x in h) for y, w in zip(r, rw, strict=True)) / sum(rw)
    return p, rec, 2 * p * rec / (p + rec)


def test_greedy_match_by_hand() -> None:
    # hyp tokens (1,0), (0,1); ref tokens (1,0) and a special token (0.6,0.8) of weight 0.
    hyp = (torch.tensor([[1.0, 0.0], [0.0, 1.0]]).double(), torch.tensor([1.0, 1.0]).double())
    ref = (torch.tensor([[1.0, 0.0], [0.6, 0.8]]).double(), torch.tensor([1.0, 0.0]).double())
    precision, recall, f1 = bertscore.greedy_match(hyp, ref)
    # the special token is still a match target: (1 + 0.8) / 2, not (1 + 0) / 2
    assert precision == pytest.approx(0.9)
    assert recall == pytest.approx(1.0)  # only the weighted reference token counts
    assert f1 == pytest.approx(2 * 0.9 / 1.9)


def test_scores_equal_a_sentence_by_sentence_brute_force(
    scorer: bertscore.BertScorer, tiny_roberta: Path
) -> None:
    pairs = [("the cat sat", "a cat sat on the mat"), ("hello", "the the"), ("xyz", "xyz q")]
    got = bertscore.sentence_scores(scorer, [h for h, _ in pairs], [[r] for _, r in pairs])
    for (hyp, ref), scores in zip(pairs, got, strict=True):  # batched with padding vs one by one
        assert scores == pytest.approx(_brute_force(tiny_roberta, hyp, ref), abs=1e-5)
    assert "layer 2" in scorer.describe() and str(tiny_roberta) in scorer.describe()


def test_identity_multi_reference_max_and_empty_sentences(scorer: bertscore.BertScorer) -> None:
    same = bertscore.sentence_scores(scorer, ["the cat sat"], [["  the cat sat "]])[0]
    assert same == pytest.approx((1.0, 1.0, 1.0))
    alone = [bertscore.sentence_scores(scorer, ["the dog"], [[r]])[0] for r in ("a dog", "cats")]
    both = bertscore.sentence_scores(scorer, ["the dog"], [["a dog", "cats", ""]])[0]
    assert both == tuple(max(column) for column in zip(*alone, strict=True))
    assert bertscore.sentence_scores(scorer, [""], [["a dog"]])[0] == (0.0, 0.0, 0.0)
    f1 = bertscore.corpus_f1(scorer, ["the dog", ""], [["a dog"], ["a dog"]])
    assert f1 == pytest.approx(alone[0][2] / 2)


def test_dart_cell_and_provenance_with_the_model(scorer: bertscore.BertScorer) -> None:
    hyps, refs = ["The Cat sat."], [["the cat sat .", "a cat"]]
    scores = score_dart(hyps, refs, with_meteor=False)
    expected = bertscore.corpus_f1(scorer, [normalize_dart(hyps[0])], refs)
    assert scores["bertscore"] == pytest.approx(expected)
    assert scores["bertscore"] == pytest.approx(1.0)  # normalised hypothesis = reference 0
    assert dart_provenance()["bertscore"] == scorer.describe()


def test_missing_or_wrong_model_is_a_reason_not_a_number(
    tmp_path: Path, tiny_roberta: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(bertscore.MODEL_ENV, str(tmp_path / "absent"))
    cell = score_dart(["a b"], [["a b"]], with_meteor=False)["bertscore"]
    assert cell.startswith("not computed: BERTScore: ") and "not found locally" in cell
    monkeypatch.setenv(bertscore.MODEL_ENV, str(tiny_roberta))
    monkeypatch.setenv(bertscore.LAYER_ENV, "7")
    with pytest.raises(bertscore.BertScoreUnavailable, match="has 3 layers; layer 7 asked"):
        bertscore.load_scorer()
    monkeypatch.setenv(bertscore.LAYER_ENV, "top")
    with pytest.raises(bertscore.BertScoreUnavailable, match="not a layer number"):
        bertscore.load_scorer()
