"""The trainer's and decoder's fast paths compute what the plain ones compute.

Training: packed rows with target-only logits (`AdaptedLM.target_logits`) give the same
per-sequence losses and gradients as a full padded forward with every position's logits. Decoding:
the suite's in-place cache (`benchmark.kvcache`) gives the same beams as transformers'
DynamicCache, with prompts of different lengths and prompts leaving the batch. No test times
anything (`python -m benchmark speed` does).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys

import pytest
import torch

from benchmark import attention, lm
from benchmark.decode import beam_batch, greedy_batch
from benchmark.layout import encode_pair, encode_prompt, train_batch
from benchmark.methods import METHODS
from benchmark.methods.base import AdaptedLM, SharedDecodeState
from benchmark.models import load_model
from benchmark.spec import TrainConfig
from benchmark.train import adamw, sequence_losses, target_losses

from .helpers import LIMITS, SOURCES

# the trainer's and decoder's paths call no deprecated transformers API (transformers 5.24 warns
# that the `past_key_values` keyword goes in 5.40): any FutureWarning here fails the test
pytestmark = pytest.mark.filterwarnings("error::FutureWarning")

PAIRS = [
    ("name : Aromi | Type : coffee shop", "Aromi is a coffee shop."),
    ("name : X", "X."),
    ("name : Bibimbap House | food : Chinese | area : riverside", "Bibimbap House serves Chinese food."),
]  # fmt: skip
# every decoder-only method, with options that make each one small
METHOD_OPTIONS = {
    "prefix": {"prefix_len": 3, "mid_dim": 8},
    "embedding-only": {"prefix_len": 2, "mid_dim": 8},
    "infix": {"prefix_len": 2, "mid_dim": 8},
    "finetune": {},
    "ft-top2": {"top_layers": 1},
    "adapter": {},
    "lora": {"rank": 2},
}


@pytest.fixture(autouse=True)
def _small_vocab_blocks(monkeypatch):
    """The tiny LMs have 259 words: blocks of 64 make the blocked head run 4 full blocks and a
    ragged one in every test here (at the default 1,024 it would be one block)."""
    monkeypatch.setattr(lm, "VOCAB_BLOCK", 64)


def build(method: str, model: str, seed: int = 0) -> tuple[AdaptedLM, object]:
    loaded = load_model(model)
    spec = METHODS.get(method)
    torch.manual_seed(seed)
    adapted = spec.build(loaded, spec.make_config(METHOD_OPTIONS[method]))
    torch.manual_seed(seed + 1)
    with torch.no_grad():  # trained-looking parameters: zero-initialised ones would hide bugs
        for p in adapted.trainable_parameters():
            p.add_(0.05 * torch.randn_like(p))
    return adapted, loaded


def batch_of(loaded):
    return train_batch([encode_pair(loaded, s, t, *LIMITS) for s, t in PAIRS], loaded.pad_id)


@pytest.mark.parametrize("model", ["tiny-gpt2", "tiny-llama"])
@pytest.mark.parametrize("method", sorted(METHOD_OPTIONS))
def test_target_only_packed_losses_and_gradients_equal_the_full_padded_forward(method, model):
    adapted, loaded = build(method, model)
    adapted.eval()  # dropout off: both paths see the same function
    batch = batch_of(loaded)
    params = adapted.trainable_parameters()

    # infix's reference is its one pass over [x; infix] (the fast path splits x off, no grad)
    one_pass = {"split": False} if method == "infix" else {}
    full_sum, full_counts = sequence_losses(
        adapted(batch.ids, batch.mask, **one_pass), batch.labels
    )
    full_grads = torch.autograd.grad(full_sum.sum(), params)
    fast_sum, fast_counts = target_losses(adapted.target_logits(batch), batch)
    fast_grads = torch.autograd.grad(fast_sum.sum(), params)

    assert torch.equal(fast_counts, full_counts)
    assert torch.allclose(fast_sum, full_sum, rtol=1e-5, atol=1e-4)
    for fast, full in zip(fast_grads, full_grads):
        assert torch.allclose(fast, full, rtol=1e-4, atol=1e-5)
    if method != "infix":  # infix packs only its [sep; y] parts (its own forward)
        assert adapted.can_pack
    assert attention.installed(adapted.lm)


def _spy_packed(monkeypatch) -> list:
    """(query shape, Packed) of every packed attention call from now on."""
    seen = []
    real = attention._packed
    monkeypatch.setattr(
        attention, "_packed", lambda *a, **k: seen.append((a[1].shape, a[4])) or real(*a, **k)
    )
    return seen


def _leak_every_mask(monkeypatch) -> None:
    """Every packed mask lets every query see every key (other rows' and the padding)."""
    monkeypatch.setattr(
        attention.Packed, "mask", lambda self, past: torch.ones(self.rows, 1, self.width, past + self.width, dtype=torch.bool)
    )  # fmt: skip


def test_the_packed_path_runs_packed(monkeypatch):
    """The packed attention is what runs (so the equality above is not padded vs padded), and a
    wrong per-row mask is caught by that equality."""
    adapted, loaded = build("prefix", "tiny-llama")
    adapted.eval()
    batch = batch_of(loaded)
    seen = _spy_packed(monkeypatch)
    packed, _ = target_losses(adapted.target_logits(batch), batch)
    assert [p.rows for _, p in seen] == [len(PAIRS)] * adapted.lm.config.num_hidden_layers
    assert batch.packed_ids.shape == (1, int(batch.mask.sum()))  # no padding in the packed row

    # rows that may see each other: the losses change
    _leak_every_mask(monkeypatch)
    leaky, _ = target_losses(adapted.target_logits(batch), batch)
    assert not torch.allclose(leaky, packed, atol=1e-3)


def test_infix_packs_its_targets_each_row_seeing_only_its_own_source(monkeypatch):
    """Infix's [sep; y] parts run packed (one sequence of the rows' real y tokens), each attending
    to its own row's [x; infix]; a past mask that lets a row see the source padding is caught."""
    adapted, loaded = build("infix", "tiny-llama")
    adapted.eval()
    batch = batch_of(loaded)
    seen = _spy_packed(monkeypatch)
    packed, _ = target_losses(adapted.target_logits(batch), batch)
    assert len(seen) == adapted.lm.config.num_hidden_layers
    query_shape, packing = seen[0]
    sep = [int((row == loaded.sep_id).nonzero()[0]) for row in batch.ids]
    assert query_shape[2] == sum(int(n) - s for n, s in zip(batch.lengths, sep))  # y tokens only
    assert packing.row_past is not None and not packing.past_mask.all()  # sources are padded
    padded, _ = target_losses(adapted.target_logits(batch, packed=False), batch)
    assert torch.allclose(packed, padded, rtol=1e-5, atol=1e-4)
    # the source padding made visible: the losses change
    _leak_every_mask(monkeypatch)
    leaky, _ = target_losses(adapted.target_logits(batch), batch)
    assert not torch.allclose(leaky, packed, atol=1e-3)


@pytest.mark.parametrize("model", ["tiny-gpt2", "tiny-llama"])
def test_the_blocked_vocabulary_head_gives_the_lm_forward_logits_and_gradients(model, monkeypatch):
    """`vocab_logits` (the head in blocks of words) against the LM's own forward, for the kept
    positions, with the gradients of the hidden states' inputs and of the tied head weight."""
    loaded = load_model(model)
    ids = torch.tensor([[5, 9, 17, 33, 2, 8], [7, 7, 40, 12, 250, 1]])
    keep = torch.tensor(
        [[False, True, True, False, True, True], [True, False, False, True, True, True]]
    )
    inputs = dict(input_ids=ids, use_cache=False)
    weight = loaded.model.get_output_embeddings().weight
    calls = []
    real = lm._BlockedHead.apply
    monkeypatch.setattr(lm._BlockedHead, "apply", lambda *a: calls.append(1) or real(*a))
    for positions in (keep, 1, 0):
        expect = loaded.model(logits_to_keep=positions, **inputs).logits
        (grad_expect,) = torch.autograd.grad(expect.square().sum(), [weight])
        got = lm.vocab_logits(loaded.model, positions, **inputs)
        (grad_got,) = torch.autograd.grad(got.square().sum(), [weight])
        assert got.shape == expect.shape
        assert torch.allclose(got, expect, rtol=0, atol=1e-6)
        assert torch.allclose(grad_got, grad_expect, rtol=1e-5, atol=1e-6)
    assert len(calls) == 3  # the blocks ran, not the LM's head
    unused = torch.empty(2, weight.shape[0])  # under autograd a buffer is not written into
    assert lm.vocab_logits(loaded.model, 1, out=unused, **inputs).data_ptr() != unused.data_ptr()
    with torch.no_grad():  # into a caller's buffer: the same numbers
        buffer = torch.full((2, weight.shape[0]), float("nan"))
        got = lm.vocab_logits(loaded.model, 1, out=buffer, **inputs)
        assert got.data_ptr() == buffer.data_ptr()
        assert torch.allclose(got, loaded.model(logits_to_keep=1, **inputs).logits, atol=1e-6)


def test_the_blocked_head_with_a_bias_and_an_unknown_lm_falls_back():
    torch.manual_seed(0)
    hidden = torch.randn(3, 4, 16, requires_grad=True)
    weight = torch.randn(200, 16, requires_grad=True)
    bias = torch.randn(200, requires_grad=True)
    got = lm._BlockedHead.apply(hidden, weight, bias, None)
    expect = torch.nn.functional.linear(hidden, weight, bias)
    assert torch.allclose(got, expect, atol=1e-6)
    grads = torch.autograd.grad(got.sin().sum(), [hidden, weight, bias])
    expected = torch.autograd.grad(expect.sin().sum(), [hidden, weight, bias])
    for a, b in zip(grads, expected):
        assert torch.allclose(a, b, rtol=1e-5, atol=1e-5)

    class Other(torch.nn.Module):  # not a known plain-head LM: its own forward runs
        def forward(self, logits_to_keep, **inputs):
            return type("Out", (), {"logits": torch.full((1, 2), 3.0)})()

    assert torch.equal(lm.vocab_logits(Other(), 1, input_ids=None), torch.full((1, 2), 3.0))


def test_fused_adamw_makes_the_update_of_plain_adamw():
    torch.manual_seed(0)
    weights = [torch.nn.Parameter(torch.randn(7, 5)), torch.nn.Parameter(torch.randn(3))]
    twins = [torch.nn.Parameter(w.detach().clone()) for w in weights]
    config = TrainConfig(lr=1e-2, weight_decay=0.01)
    fused = adamw(weights, config)
    plain = torch.optim.AdamW(twins, lr=1e-2, eps=config.adam_eps, weight_decay=0.01)
    assert fused.defaults.get("fused") is True
    for _ in range(3):
        for a, b in zip(weights, twins):
            grad = torch.randn_like(a)
            a.grad, b.grad = grad.clone(), grad.clone()
        fused.step()
        plain.step()
    for a, b in zip(weights, twins):
        assert torch.allclose(a, b, atol=1e-6)


def _old_path(monkeypatch) -> None:
    """Decode through transformers' DynamicCache (the path before the suite's own cache)."""
    monkeypatch.setattr(AdaptedLM, "can_pack", property(lambda self: False))


@pytest.mark.parametrize("model", ["tiny-gpt2", "tiny-llama"])
@pytest.mark.parametrize("method", ["prefix", "finetune", "embedding-only", "lora"])
def test_the_in_place_cache_gives_the_beams_of_dynamic_cache(method, model, monkeypatch):
    adapted, loaded = build(method, model)
    adapted.eval()
    if hasattr(adapted, "finalize") and method == "prefix":
        adapted.finalize()
    # prompts of different lengths (left padding), beams that finish at different steps
    prompts = [encode_prompt(loaded, s) for s in SOURCES + ["name : Y | area : city centre"]]
    state_types = []
    real_prefill = type(adapted).prefill

    def recording(self, ids, mask):
        logits, state = real_prefill(self, ids, mask)
        state_types.append(type(state))
        return logits, state

    monkeypatch.setattr(type(adapted), "prefill", recording)
    new_beams = beam_batch(adapted, loaded, prompts, 3, 10, 1.0)
    new_greedy = greedy_batch(adapted, loaded, prompts, 10)
    with monkeypatch.context() as m:
        _old_path(m)
        old_beams = beam_batch(adapted, loaded, prompts, 3, 10, 1.0)
        old_greedy = greedy_batch(adapted, loaded, prompts, 10)
    assert state_types[:2] == [SharedDecodeState] * 2 and state_types[2] is not SharedDecodeState
    assert new_beams == old_beams
    assert new_greedy == old_greedy
    if method != "finetune":  # the bare tiny LMs repeat one token whatever the prompt
        assert len({tuple(b) for b in new_beams}) > 1  # the outputs depend on the prompt


def test_prompts_leaving_the_batch_keep_the_others_beams(monkeypatch):
    """A prompt that finishes early leaves the batch: the survivors' beams are those they get
    alone (the cache compaction keeps each row's own keys and values)."""
    adapted, loaded = build("prefix", "tiny-llama", seed=3)
    adapted.eval()
    prompts = [encode_prompt(loaded, s) for s in SOURCES]
    together = beam_batch(adapted, loaded, prompts, 2, 12, 1.0, min_new=0)
    alone = [beam_batch(adapted, loaded, [p], 2, 12, 1.0)[0] for p in prompts]
    assert together == alone


# ---- the C allocator: freed memory kept for the next step ---------------------------------------
_STEPS_FAULTS = """
import resource
import torch
from benchmark.lm import keep_freed_memory
kept = keep_freed_memory()
def step():
    big = torch.ones(16_000_000)  # 64 MB: above glibc's largest adaptive mmap threshold (32 MiB)
    small = torch.ones(300_000) * 2  # 1.2 MB, twice
    return float(big[-1] + small[-1])
faults = []
for _ in range(7):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(kept, *faults[1:])
"""
STEP_PAGES = (16_000_000 + 2 * 300_000) * 4 // 4096  # the pages one step touches


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_steps_reuse_freed_memory_instead_of_faulting_in_fresh_pages():
    """After `keep_freed_memory` (what every run and `speed` call), a step that allocates and frees
    the tensors the step before it freed touches no fresh pages; with BENCHMARK_MALLOC=default (the
    C library as it is) every step faults all of them in again: the cost the setting removes. The
    median step is compared: while the heap settles, one early step may still move the big block
    (a small one split the freed big one) and fault it in once."""

    def faults(**env: str) -> tuple[bool, list[int]]:
        done = subprocess.run(
            [sys.executable, "-c", _STEPS_FAULTS],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        kept, *counts = done.stdout.split()
        return kept == "True", [int(c) for c in counts]

    kept, per_step = faults()
    assert kept and statistics.median(per_step) < STEP_PAGES / 20, per_step
    kept, per_step = faults(BENCHMARK_MALLOC="default")
    assert not kept and min(per_step) > STEP_PAGES / 2, per_step
