"""Every method on every model family (GPT-2, llama with GQA, BART): trains, changes exactly what it
should, decodes with its change (equal to a step-by-step loop of full forward passes), and ejects
without changing outputs; a method that refuses a family says why (UnsupportedModelError).

Adding a method = one module in benchmark/methods/ and one row in METHOD_ROWS.
"""

from __future__ import annotations

import pytest
import torch

from benchmark.data import Example
from benchmark.decode import greedy_batch
from benchmark.errors import UnsupportedModelError
from benchmark.layout import collate, encode_pair, encode_prompt
from benchmark.methods import METHODS
from benchmark.spec import TrainConfig
from benchmark.train import sequence_losses, train

from .helpers import LIMITS, SOURCES, reference_greedy

PAIRS = [
    Example("name : Aromi | Type : coffee shop", ("Aromi is a coffee shop.",)),
    Example("name : Bibimbap House | food : Chinese", ("Bibimbap House serves Chinese food.",)),
    Example(
        "name : The Vaults | Type : pub | area : riverside", ("The Vaults is a riverside pub.",)
    ),
]


def _top2(name: str, config) -> bool:
    if config.is_encoder_decoder:
        # BART: the last two decoder blocks and the shared embedding (tied to the LM head); BART is
        # post-LN, so there is no final norm
        top = {f"model.decoder.layers.{config.decoder_layers - i}." for i in (1, 2)}
        return any(name.startswith(t) for t in top) or name == "model.shared.weight"
    layers = config.num_hidden_layers
    top = {f".{layers - 2}.", f".{layers - 1}."}
    return (
        any(t in name for t in top)
        or "ln_f" in name
        or name.startswith("model.norm")
        or ("wte" in name or "embed_tokens" in name or "lm_head" in name)
    )


# (method, options, which LM parameters may change: name, model config -> bool, families refused)
METHOD_ROWS = [
    ("finetune", {}, lambda name, c: True, ()),
    ("ft-top2", {}, _top2, ()),
    ("adapter", {"adapter_pct": 3.0}, lambda name, c: False, ()),
    ("prefix", {"prefix_len": 3, "mid_dim": 16}, lambda name, c: False, ()),
    ("prefix", {"prefix_len": 3, "reparam": "flat"}, lambda name, c: False, ()),
    (
        "embedding-only",
        {"prefix_len": 3, "mid_dim": 16},
        lambda name, c: False,
        ("encoder-decoder",),
    ),
    ("infix", {"prefix_len": 3, "mid_dim": 16}, lambda name, c: False, ("encoder-decoder",)),
    ("lora", {"rank": 2}, lambda name, c: False, ()),
]


@pytest.fixture(params=["tiny-gpt2", "tiny-llama", "tiny-bart"])
def any_family(request):
    """The conftest `tiny` models plus the encoder-decoder `tiny-bart`."""
    from benchmark.models import load_model

    return load_model(request.param)


def test_every_registered_method_has_a_row():
    assert set(METHODS.names()) == {row[0] for row in METHOD_ROWS}


@pytest.mark.parametrize(
    "method, options, lm_may_change, refused",
    METHOD_ROWS,
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_method_trains_changes_what_it_should_and_decodes_with_its_change(
    any_family, method, options, lm_may_change, refused
):
    tiny = any_family
    torch.manual_seed(0)
    spec = METHODS.get(method)
    if tiny.family in refused:
        with pytest.raises(UnsupportedModelError, match=tiny.family):
            spec.build(tiny, spec.make_config(options))
        return
    lm_before = {n: p.detach().clone() for n, p in tiny.model.named_parameters()}
    adapted = spec.build(tiny, spec.make_config(options))
    own_before = {
        n: p.detach().clone() for n, p in adapted.named_parameters() if not n.startswith("lm.")
    }
    config = TrainConfig(max_steps=2, batch_size=3, lr=1e-2, warmup_steps=0)
    batch = collate(
        [encode_pair(tiny, e.source, e.references[0], *LIMITS) for e in PAIRS], tiny.pad_id
    )

    def loss() -> float:
        adapted.eval()
        with torch.no_grad():
            return float(sequence_losses(adapted(*batch[:2]), batch[2])[0].sum())

    start = loss()
    train(adapted, tiny, PAIRS, [], config, progress=False)
    assert loss() < start

    for name, param in tiny.model.named_parameters():
        changed = not torch.equal(param, lm_before[name])
        assert changed == lm_may_change(name, tiny.model.config), f"{method}: {name} {changed=}"
    for name, param in adapted.named_parameters():
        if name in own_before and param.requires_grad:
            assert not torch.equal(param, own_before[name]), f"{method}: {name} did not train"

    prompts = [encode_prompt(tiny, s) for s in SOURCES]
    ids, mask, _ = batch
    before_eject = adapted(ids, mask)
    adapted.finalize()
    adapted.eval()
    assert torch.allclose(adapted(ids, mask), before_eject, atol=1e-5)
    decoded = greedy_batch(adapted, tiny, prompts, max_new=10)
    assert decoded == [reference_greedy(adapted, tiny, p, 10) for p in prompts]
    stored = adapted.stored_state()
    assert stored and all(isinstance(t, torch.Tensor) for t in stored.values())

    # what is stored is enough: a fresh build with other random draws decodes the same after loading
    from benchmark.models import load_model

    torch.manual_seed(123)
    again = spec.build(load_model(tiny.name), spec.make_config(options))
    again.load_stored_state({name: t.clone() for name, t in stored.items()})
    again.eval()
    assert torch.allclose(again(ids, mask), adapted(ids, mask), atol=1e-5)


def test_infix_is_seen_by_the_target_but_not_by_the_source():
    from benchmark.methods.infix import InfixConfig, InfixTuned
    from benchmark.models import load_model

    loaded = load_model("tiny-llama")
    torch.manual_seed(0)
    infix = InfixTuned(loaded, InfixConfig(prefix_len=2, mid_dim=8)).eval()
    ids, mask, labels = collate(
        [encode_pair(loaded, PAIRS[0].source, PAIRS[0].references[0], *LIMITS)], loaded.pad_id
    )
    source_len = len(loaded.tokenizer.encode(" " + PAIRS[0].source))
    source = ids[:, :source_len]
    cache_a, _ = infix.encode_source(source, torch.ones_like(source))
    logits_a = infix(ids, mask)
    with torch.no_grad():
        infix.inputs.add_(1.0)
        infix.mlp[-1].bias.add_(1.0)
    cache_b, _ = infix.encode_source(source, torch.ones_like(source))
    logits_b = infix(ids, mask)
    for la, lb in zip(cache_a.layers, cache_b.layers):
        assert torch.equal(la.keys[:, :, :source_len], lb.keys[:, :, :source_len])  # source blind
        assert not torch.equal(la.keys[:, :, source_len:], lb.keys[:, :, source_len:])
    target = labels[0] != -100
    assert not torch.allclose(
        logits_a[0, source_len:][target[source_len:]], logits_b[0, source_len:][target[source_len:]]
    )


def test_unknown_option_is_a_clear_error():
    with pytest.raises(ValueError, match="known:"):
        METHODS.get("prefix").make_config({"prefix_lenght": 3})
