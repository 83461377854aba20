"""Prefix-tuning: layout, GQA shapes, positions, padding, ejection, what trains (R1-R10, R18)."""

from __future__ import annotations

import torch

from benchmark.data import Example
from benchmark.layout import collate, encode_pair
from benchmark.lm import kv_geometry, split_flat_prefix
from benchmark.methods.prefix import PrefixConfig, PrefixTuned
from benchmark.spec import TrainConfig
from benchmark.train import sequence_losses, train

from .helpers import LIMITS

PAIRS = [
    Example("name : Aromi | Type : coffee shop", ("Aromi is a coffee shop.",)),
    Example("name : Bibimbap House | food : Chinese", ("Bibimbap House serves Chinese food.",)),
    Example(
        "name : The Vaults | Type : pub | area : riverside", ("The Vaults is a riverside pub.",)
    ),
]


def test_flat_layout_matches_the_anchor(tiny):
    """R2: layer-major, then key/value, then head, then head_dim, element by element."""
    g = kv_geometry(tiny.model.config)
    flat = torch.arange(2 * 3 * g.width, dtype=torch.float32).view(2, 3, g.width)
    ours = split_flat_prefix(flat, g)
    anchor = flat.view(2, 3, 2 * g.num_layers, g.num_kv_heads, g.head_dim).permute(2, 0, 3, 1, 4)
    anchor = anchor.split(2)
    for layer, (key, value) in enumerate(ours):
        assert torch.equal(key, anchor[layer][0])
        assert torch.equal(value, anchor[layer][1])


def test_gqa_prefix_shapes():
    """R1: a GQA model caches num_key_value_heads heads of config.head_dim."""
    from benchmark.models import load_model

    loaded = load_model("tiny-llama")
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=4, mid_dim=16))
    cache = prefix.past(3)
    assert len(cache.layers) == 2
    assert tuple(cache.layers[0].keys.shape) == (3, 2, 4, 12)  # 2 kv heads of 12, not 6 of 8
    assert prefix.prefix_tensor().shape == (4, 2 * 2 * 2 * 12)


def test_real_word_prefix_equals_running_the_words(tiny):
    """R8/R18: a flat prefix copied from the LM's activations of some words makes the LM behave as
    if those words preceded the input: positions start at P and the mask covers the prefix."""
    words = "table-to-text:"
    prefix = PrefixTuned(tiny, PrefixConfig(reparam="flat", init_text=words))
    word_ids = tiny.tokenizer.encode(" " + words)
    assert prefix.prefix_len == len(word_ids)
    ids, labels = encode_pair(tiny, PAIRS[0].source, PAIRS[0].references[0], *LIMITS)
    x = torch.tensor([ids])
    with_prefix = prefix(x, torch.ones_like(x))
    joined = torch.tensor([word_ids + ids])
    plain = tiny.model(input_ids=joined).logits[:, len(word_ids) :]
    assert torch.allclose(with_prefix, plain, atol=1e-5)


def test_mlp_init_regresses_onto_the_words(tiny):
    prefix = PrefixTuned(
        tiny, PrefixConfig(init_text="table-to-text:", mid_dim=64, init_steps=300, init_lr=1e-2)
    )
    target = prefix._lm_activations(tiny.tokenizer.encode(" table-to-text:"))
    start = torch.nn.functional.mse_loss(torch.zeros_like(target), target)
    assert prefix.init_mse < 0.05 * float(start)


def test_padded_batch_equals_examples_alone(tiny):
    """R10: right padding changes nothing for the real tokens."""
    torch.manual_seed(0)
    prefix = PrefixTuned(tiny, PrefixConfig(prefix_len=3, mid_dim=16))
    pairs = [encode_pair(tiny, ex.source, ex.references[0], *LIMITS) for ex in PAIRS]
    ids, mask, labels = collate(pairs, tiny.pad_id)
    batch_sum, _ = sequence_losses(prefix(ids, mask), labels)
    for row, pair in enumerate(pairs):
        one_ids, one_mask, one_labels = collate([pair], tiny.pad_id)
        alone, _ = sequence_losses(prefix(one_ids, one_mask), one_labels)
        assert torch.allclose(batch_sum[row], alone[0], atol=1e-4)


def test_training_changes_only_the_prefix_and_ejection_keeps_logits(tiny):
    """R5/R7: the LM is bit-identical after training; ejecting the MLP changes no output."""
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in tiny.model.state_dict().items()}
    prefix = PrefixTuned(tiny, PrefixConfig(prefix_len=3, mid_dim=16))
    mlp_before = [p.clone() for p in prefix.mlp.parameters()]
    assert all(not p.requires_grad for p in tiny.model.parameters())
    config = TrainConfig(max_steps=10, batch_size=3, lr=1e-3, warmup_steps=0)
    everything = collate(
        [encode_pair(tiny, e.source, e.references[0], *LIMITS) for e in PAIRS], tiny.pad_id
    )

    def total_loss() -> float:
        with torch.no_grad():
            return float(sequence_losses(prefix(*everything[:2]), everything[2])[0].sum())

    start = total_loss()
    train(prefix, tiny, PAIRS, PAIRS[:1], config, progress=False)
    assert total_loss() < start
    after = tiny.model.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)
    assert any(not torch.equal(a, b) for a, b in zip(mlp_before, prefix.mlp.parameters()))

    ids, mask, _ = collate([encode_pair(tiny, PAIRS[2].source, "x", *LIMITS)], tiny.pad_id)
    reparameterised = prefix(ids, mask)
    prefix.finalize()
    assert not hasattr(prefix, "mlp")
    assert torch.allclose(prefix(ids, mask), reparameterised, atol=1e-5)
    stored = prefix.stored_state()
    g = kv_geometry(tiny.model.config)
    assert set(stored) == {"prefix"} and stored["prefix"].numel() == 3 * g.width


def test_trained_stored_prefix_reloads_into_a_fresh_model(tiny, tmp_path):
    """What is stored after training is the trained prefix (not its initial value), and loading it
    into a differently seeded model reproduces the trained logits on a padded batch."""
    from safetensors.torch import load_file, save_file

    config = PrefixConfig(prefix_len=2, mid_dim=8)
    torch.manual_seed(0)
    prefix = PrefixTuned(tiny, config)
    with torch.no_grad():
        initial = prefix.eval().prefix_tensor().clone()  # what finalize() would eject untrained
    train_config = TrainConfig(max_steps=4, batch_size=3, lr=1e-2, warmup_steps=0)
    train(prefix, tiny, PAIRS, PAIRS[:1], train_config, progress=False)
    prefix.finalize()
    state = prefix.stored_state()
    assert set(state) == {"prefix"} and state["prefix"].shape == initial.shape
    assert not torch.allclose(state["prefix"], initial, atol=1e-4)
    save_file(state, tmp_path / "p.safetensors")

    pairs = [encode_pair(tiny, ex.source, ex.references[0], *LIMITS) for ex in PAIRS]
    ids, mask, _ = collate(pairs, tiny.pad_id)
    assert not mask.all()  # right-padded rows
    with torch.no_grad():
        trained = prefix.eval()(ids, mask)
        torch.manual_seed(1)
        fresh = PrefixTuned(tiny, config).eval()
        unloaded = fresh(ids, mask)
        fresh.load_stored_state(load_file(tmp_path / "p.safetensors"))
        reloaded = fresh(ids, mask)
    assert torch.allclose(reloaded, trained, atol=1e-6)
    real = mask.bool()
    assert not torch.allclose(unloaded[real], trained[real], atol=1e-3)
