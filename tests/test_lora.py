"""LoRA: same logits as PEFT's LoRA given the same factors (before and after the merge), only the
factors train, their count follows from the model's shapes, the merge is exact, a stored run
reloads to the same logits, and per-family defaults and bad options are what they should be."""

from __future__ import annotations

import copy

import pytest
import torch

from benchmark.data import Example
from benchmark.errors import UnsupportedModelError
from benchmark.layout import collate, encode_pair
from benchmark.methods.base import AdaptedLM
from benchmark.methods.lora import SPEC, LoraConfig, LoraTuned
from benchmark.models import load_model
from benchmark.spec import TrainConfig
from benchmark.train import train

FAMILIES = ["tiny-gpt2", "tiny-llama", "tiny-bart"]
PAIRS = [
    Example("name : Aromi | Type : coffee shop", ("Aromi is a coffee shop.",)),
    Example("name : X", ("X.",)),
    Example("name : The Vaults | Type : pub", ("The Vaults is a pub.",)),
]
TRAIN = TrainConfig(max_steps=2, batch_size=3, lr=1e-2, warmup_steps=0)


def _batch(loaded):
    """Right-padded rows (row 2 is shorter), as the trainer builds them."""
    limits = TRAIN.max_source_tokens, TRAIN.max_target_tokens
    pairs = [encode_pair(loaded, e.source, e.references[0], *limits) for e in PAIRS]
    return collate(pairs, loaded.pad_id)


def _randomise(lora: LoraTuned) -> None:
    """B is zero at init, which would make any comparison trivial: draw both factors."""
    with torch.no_grad():
        for factor in lora.factors:
            factor.A.normal_(0, 0.3)
            factor.B.normal_(0, 0.3)


def _expected_factor_count(config, rank: int) -> int:
    """rank * (in + out) per adapted projection, from the model config alone."""
    if config.model_type == "gpt2":  # c_attn: d -> 3d (fused q, k, v)
        return config.n_layer * rank * (config.n_embd + 3 * config.n_embd)
    if config.model_type == "llama":  # q_proj: h -> heads*head_dim; v_proj: h -> kv_heads*head_dim
        h, hd = config.hidden_size, config.head_dim
        q, v = config.num_attention_heads * hd, config.num_key_value_heads * hd
        return config.num_hidden_layers * rank * ((h + q) + (h + v))
    assert config.model_type == "bart"  # q/v: d -> d in encoder self-, decoder self- and cross-attn
    attentions = config.encoder_layers + 2 * config.decoder_layers
    return attentions * 2 * rank * (2 * config.d_model)


def test_same_factors_same_logits_as_peft_before_and_after_merge(tiny):
    peft = pytest.importorskip("peft", reason="peft is a test dependency (pip install -e .[test])")
    # copies before ours hooks the LM (a deep copy would carry our hooks along)
    theirs_lm, bare_lm = copy.deepcopy(tiny.model), copy.deepcopy(tiny.model)
    torch.manual_seed(0)
    ours = LoraTuned(tiny, LoraConfig(rank=4, alpha=8))
    _randomise(ours)
    peft_model = peft.get_peft_model(
        theirs_lm,
        peft.LoraConfig(
            r=4,
            lora_alpha=8,
            lora_dropout=0.0,
            target_modules=list(ours.target_modules),
            fan_in_fan_out=tiny.model.config.model_type == "gpt2",  # GPT-2's Conv1D is (in, out)
        ),
    )
    adapted = {n: m for n, m in peft_model.base_model.model.named_modules() if hasattr(m, "lora_A")}
    assert sorted(adapted) == sorted(ours.paths)  # same modules chosen
    with torch.no_grad():
        for path, factor in zip(ours.paths, ours.factors):
            adapted[path].lora_A["default"].weight.copy_(factor.A)
            adapted[path].lora_B["default"].weight.copy_(factor.B)
    peft_model.eval()
    ours.eval()

    ids, mask, _ = _batch(tiny)
    real = mask.bool()
    with torch.no_grad():
        theirs = peft_model(input_ids=ids, attention_mask=mask).logits
        mine = ours(ids, mask)
        bare = bare_lm(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(mine[real], theirs[real], atol=1e-5)
    assert not torch.allclose(mine[real], bare[real], atol=1e-3)  # the factors matter

    ours.finalize()
    with torch.no_grad():
        merged = ours(ids, mask)
        lm_alone = tiny.model(input_ids=ids, attention_mask=mask).logits
    assert torch.allclose(merged[real], theirs[real], atol=1e-5)
    # the merged LM carries the update by itself: no hook adds it a second time
    assert torch.allclose(lm_alone[real], theirs[real], atol=1e-5)


@pytest.mark.parametrize("name", FAMILIES)
def test_only_the_factors_train_and_only_they_are_stored(name):
    loaded = load_model(name)
    lm_before = {n: p.detach().clone() for n, p in loaded.model.named_parameters()}
    torch.manual_seed(0)
    lora = SPEC.build(loaded, SPEC.make_config({"rank": 2}))
    factors_before = {n: t.clone() for n, t in lora.stored_state().items()}
    expected = _expected_factor_count(loaded.model.config, rank=2)
    assert sum(p.numel() for p in lora.trainable_parameters()) == expected

    train(lora, loaded, PAIRS, [], TRAIN, progress=False)

    for n, p in loaded.model.named_parameters():
        assert torch.equal(p, lm_before[n]), f"frozen {n} changed"
    stored = lora.stored_state()
    assert set(stored) == {f"lora.{path}.{f}" for path in lora.paths for f in "AB"}
    assert sum(t.numel() for t in stored.values()) == expected
    for n, t in stored.items():
        assert not torch.equal(t, factors_before[n]), f"{n} did not train"

    trained = {n: t.clone() for n, t in stored.items()}
    lora.finalize()
    after = lora.stored_state()  # the factors, not the merged LM weights
    assert after.keys() == trained.keys()
    assert all(torch.equal(after[n], trained[n]) for n in trained)
    assert lora.trainable_parameters() == []


@pytest.mark.parametrize("name", FAMILIES)
def test_merge_is_exact_and_a_stored_run_reloads_to_the_same_logits(name):
    loaded = load_model(name)
    ids, mask, _ = _batch(loaded)
    with torch.no_grad():
        bare = AdaptedLM(load_model(name)).eval()(ids, mask)
    torch.manual_seed(0)
    lora = LoraTuned(loaded, LoraConfig(rank=2)).eval()
    with torch.no_grad():
        assert torch.allclose(lora(ids, mask), bare, atol=1e-6)  # B = 0: training starts at the LM
    _randomise(lora)
    with torch.no_grad():
        unmerged = lora(ids, mask)
        lora.finalize()
        merged = lora(ids, mask)
    assert torch.allclose(merged, unmerged, atol=1e-5)

    torch.manual_seed(123)  # other random draws for A: loading must overwrite them
    again = LoraTuned(load_model(name), LoraConfig(rank=2))
    again.load_stored_state({n: t.clone() for n, t in lora.stored_state().items()})
    again.eval()
    with torch.no_grad():
        assert torch.allclose(again(ids, mask), merged, atol=1e-5)
    for (n, p), q in zip(again.lm.named_parameters(), lora.lm.parameters()):
        assert torch.allclose(p, q, atol=1e-6), f"{n} is not merged as the trained run's"

    with pytest.raises(ValueError, match="shape"):
        fresh = LoraTuned(load_model(name), LoraConfig(rank=3))
        fresh.load_stored_state(lora.stored_state())


def test_train_mode_keeps_the_lm_in_eval_and_lora_dropout_follows_the_mode():
    loaded = load_model("tiny-bart")  # BART's own dropout is 0.1, so it would show
    torch.manual_seed(0)
    lora = LoraTuned(loaded, LoraConfig(rank=2, dropout=0.5))
    ids, mask, _ = _batch(loaded)
    lora.train()
    assert not loaded.model.training
    with torch.no_grad():
        assert torch.equal(lora(ids, mask), lora(ids, mask))  # B = 0: only the LM runs
        _randomise(lora)
        assert not torch.equal(lora(ids, mask), lora(ids, mask))  # LoRA dropout is on
        lora.eval()
        assert torch.equal(lora(ids, mask), lora(ids, mask))


@pytest.mark.parametrize(
    "name, targets, paths",
    [
        ("tiny-gpt2", ("c_attn",), ["transformer.h.{i}.attn.c_attn"]),
        (
            "tiny-llama",
            ("q_proj", "v_proj"),
            ["model.layers.{i}.self_attn.q_proj", "model.layers.{i}.self_attn.v_proj"],
        ),
        (
            "tiny-bart",
            ("q_proj", "v_proj"),
            [
                f"model.{stack}.layers.{{i}}.{attn}.{proj}"
                for stack, attn in (
                    ("encoder", "self_attn"),
                    ("decoder", "self_attn"),
                    ("decoder", "encoder_attn"),
                )
                for proj in ("q_proj", "v_proj")
            ],
        ),
    ],
)
def test_default_targets_per_family(name, targets, paths):
    lora = LoraTuned(load_model(name), LoraConfig())
    assert lora.target_modules == targets
    assert sorted(lora.paths) == sorted(p.format(i=i) for p in paths for i in (0, 1))
    for factor in lora.factors:  # A as nn.Linear draws its weight: U(-1/sqrt(in), 1/sqrt(in))
        bound = factor.A.shape[1] ** -0.5
        assert 0.8 * bound < factor.A.abs().max() <= bound
        assert not factor.B.any()
    info = lora.method_info()
    assert (info["rank"], info["alpha"], info["scaling"]) == (8, 8, 1.0)  # PEFT's defaults
    assert info["target_modules"] == ",".join(targets)
    assert info["loss_reduction"] == "token_mean"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"rank": 0}, "rank"),
        ({"alpha": 0}, "alpha"),
        ({"dropout": 1.0}, "dropout"),
        ({"dropout": -0.1}, "dropout"),
        ({"target_modules": ()}, "target_modules"),
    ],
)
def test_bad_option_is_a_clear_error(options, message):
    with pytest.raises(ValueError, match=message):
        SPEC.make_config(options)


def test_target_modules_from_the_command_line_and_unusable_targets():
    config = SPEC.make_config({"target_modules": "q_proj,v_proj"})  # --set target_modules=...
    assert config.target_modules == ("q_proj", "v_proj")
    loaded = load_model("tiny-gpt2")
    with pytest.raises(UnsupportedModelError, match="no module"):
        LoraTuned(loaded, LoraConfig(target_modules=("q_proj",)))  # llama's names on GPT-2
    with pytest.raises(UnsupportedModelError, match="LayerNorm"):
        LoraTuned(loaded, LoraConfig(target_modules=("ln_1",)))
