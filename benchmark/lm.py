"""Thin, version-pinned helpers around a transformers causal LM: key/value geometry, a forward call
with an explicit cache, and building a cache from prefix tensors.

transformers renamed the forward keyword `past_key_values` to `cache` in 5.x and its Cache classes
change often, so every call into the LM with a cache goes through `lm_call` (R14).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import inspect
import os
from dataclasses import dataclass

import torch
from transformers import DynamicCache
from transformers.modeling_utils import slice_logits_to_keep

from benchmark.errors import ConfigError


@dataclass(frozen=True)
class KVGeometry:
    """Shape of one layer's key (or value) cache: (batch, num_kv_heads, length, head_dim) (R1)."""

    num_layers: int
    num_kv_heads: int
    head_dim: int

    @property
    def width(self) -> int:
        """Numbers per prefix position over all layers, keys and values: 2 * L * n_kv * head_dim."""
        return 2 * self.num_layers * self.num_kv_heads * self.head_dim


def kv_geometry(config) -> KVGeometry:
    """Read the key/value layout from a model config. GQA models (SmolLM2: 9 heads, 3 kv heads) cache
    `num_key_value_heads` heads; an explicit `head_dim` wins over hidden/heads (R1)."""
    layers = _first(config, "num_hidden_layers", "n_layer", "num_layers")
    heads = _first(config, "num_attention_heads", "n_head")
    hidden = _first(config, "hidden_size", "n_embd", "d_model")
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None) or hidden // heads
    return KVGeometry(layers, kv_heads, head_dim)


def _first(config, *names: str) -> int:
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return int(value)
    raise ValueError(f"model config has none of {names}")


def hidden_size(config) -> int:
    return _first(config, "hidden_size", "n_embd", "d_model")


@functools.lru_cache(maxsize=16)
def _cache_kwarg(model_cls: type) -> str:
    params = inspect.signature(model_cls.forward).parameters
    return "cache" if "cache" in params else "past_key_values"


def cache_kwargs(lm: torch.nn.Module, cache) -> dict:
    """`cache` under the forward keyword this transformers version uses; {} for no cache."""
    return {} if cache is None else {_cache_kwarg(type(lm)): cache}


def lm_call(
    lm: torch.nn.Module,
    *,
    attention_mask: torch.Tensor,
    position_ids: torch.Tensor,
    cache: DynamicCache | None,
    input_ids: torch.Tensor | None = None,
    inputs_embeds: torch.Tensor | None = None,
    logits_to_keep: int | torch.Tensor = 0,
):
    """One forward of the LM with an explicit cache; returns the transformers output (logits, cache).

    attention_mask: (B, past + T), 1 for real positions, covering everything already in `cache`.
    position_ids: (B, T).
    logits_to_keep: 0 = logits at every position; 1 = the last only; a (B, T) bool mask = those
    positions, flattened to (K, vocab) (transformers' `slice_logits_to_keep`).
    """
    kwargs = {_cache_kwarg(type(lm)): cache}
    if not (isinstance(logits_to_keep, int) and logits_to_keep == 0):
        kwargs["logits_to_keep"] = logits_to_keep
    return lm(
        input_ids=input_ids,
        inputs_embeds=inputs_embeds,
        attention_mask=attention_mask,
        position_ids=position_ids,
        use_cache=True,
        **kwargs,
    )


def run_into_cache(
    lm: torch.nn.Module,
    attention_mask: torch.Tensor,
    input_ids: torch.Tensor | None = None,
    inputs_embeds: torch.Tensor | None = None,
) -> DynamicCache:
    """Run the LM over a sequence starting at position 0 and return the filled cache (per layer
    (B, n_kv, T, head_dim)): the activations that real-word init, EMB-k and infix are made of.
    Only the keys/values are wanted, so the vocabulary head runs on one position, not on all."""
    cache = DynamicCache()
    lm_call(
        lm,
        input_ids=input_ids,
        inputs_embeds=inputs_embeds,
        attention_mask=attention_mask,
        position_ids=positions_from_mask(attention_mask, 0),
        cache=cache,
        logits_to_keep=1,
    )
    return cache


def positions_from_mask(attention_mask: torch.Tensor, offset: int | torch.Tensor) -> torch.Tensor:
    """Position ids for the real tokens of a (left- or right-) padded batch, starting at `offset`.

    With a prefix of length P, real tokens take positions P..P+T-1 as in the paper's GPT-2 (R8).
    Padded slots get the position of their neighbour; they are masked out anyway.
    """
    if isinstance(offset, int):
        offset = torch.full((attention_mask.shape[0], 1), offset, dtype=torch.long)
    steps = attention_mask.long().cumsum(-1) - 1
    return offset.to(attention_mask.device).view(-1, 1) + steps.clamp(min=0)


def cache_from_layers(layers: list[tuple[torch.Tensor, torch.Tensor]]) -> DynamicCache:
    """Build a DynamicCache from per-layer (key, value), each (B, n_kv, P, head_dim)."""
    return DynamicCache(ddp_cache_data=[(k, v) for k, v in layers])


def split_flat_prefix(flat: torch.Tensor, geometry: KVGeometry) -> list[tuple[torch.Tensor, ...]]:
    """Split a flat prefix into per-layer keys and values.

    flat: (B, P, 2*L*n_kv*head_dim), ordered layer-major, then key/value, then head, then head_dim
    (the paper's code: view(B, P, 2L, H, Dh).permute(2, 0, 3, 1, 4).split(2), R2).
    Returns L tuples (key, value), each (B, n_kv, P, head_dim).
    """
    batch, length, _ = flat.shape
    g = geometry
    grid = flat.view(batch, length, 2 * g.num_layers, g.num_kv_heads, g.head_dim)
    grid = grid.permute(2, 0, 3, 1, 4)  # (2L, B, n_kv, P, head_dim)
    return [(grid[2 * layer], grid[2 * layer + 1]) for layer in range(g.num_layers)]


def flatten_cache(cache: DynamicCache, geometry: KVGeometry) -> torch.Tensor:
    """Inverse of `split_flat_prefix`: a cache of length P -> (B, P, 2*L*n_kv*head_dim)."""
    layers = [(layer.keys, layer.values) for layer in cache.layers[: geometry.num_layers]]
    return flatten_key_values(layers, geometry)


def flatten_key_values(
    layers: list[tuple[torch.Tensor, torch.Tensor]], geometry: KVGeometry
) -> torch.Tensor:
    """Inverse of `split_flat_prefix`: L (key, value) pairs, each (B, n_kv, P, head_dim) ->
    (B, P, 2*L*n_kv*head_dim)."""
    slots = [tensor for pair in layers for tensor in pair]
    grid = torch.stack(slots, 0)  # (2L, B, n_kv, P, head_dim)
    batch, length = grid.shape[1], grid.shape[3]
    return grid.permute(1, 3, 0, 2, 4).reshape(batch, length, geometry.width)


# --- the C allocator ---------------------------------------------------------------------------
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc <malloc.h> mallopt parameters
KEEP_FREED_BYTES = 1 << 30
"""mallopt values `keep_freed_memory` sets: a block up to 1 GiB comes from the heap (not its own
mmap), and the heap gives freed memory back to the kernel only past 1 GiB of free space at its top."""
GLIBC_START_BYTES = 128 * 1024  # glibc's own mmap and trim thresholds before its mmap one adapts
MALLOC_ENV = "BENCHMARK_MALLOC"  # "default" leaves the C allocator as it is (for A/B timings)


def keep_freed_memory() -> bool:
    """Make glibc's malloc keep freed memory for the next allocation instead of returning it to the
    kernel; True when it did. Calling it again is harmless.

    torch's CPU tensors come from malloc. By default glibc gives a block above its mmap threshold
    (128 KiB, adapting up to 32 MiB) pages of its own and unmaps them on free, and trims the heap
    when free space collects at its top; a training or decoding step allocates and frees hundreds of
    activation tensors of 0.1-60 MB, so every step touches fresh pages, each a page fault the kernel
    zero-fills. Measured on a 2-core AVX512 EPYC with `speed --allocator`: our prefix and
    fine-tune steps of SmolLM2-135M 3% and 10% faster, PEFT's prefix step (the speed anchor) 14%
    (README, Speed). Only where memory comes from is changed, never a number: the process holds on to its
    peak memory instead of returning it between steps.

    No-op (False) off glibc (macOS, musl) or with BENCHMARK_MALLOC=default."""
    if os.environ.get(MALLOC_ENV, "") == "default":
        return False
    return set_allocator(kept=True)


def set_allocator(kept: bool) -> bool:
    """glibc's mmap and trim thresholds: `KEEP_FREED_BYTES` (kept) or glibc's starting values
    (`speed --allocator` switches between the two); False off glibc or when mallopt refuses."""
    libc = _glibc()
    if libc is None:
        return False
    value = KEEP_FREED_BYTES if kept else GLIBC_START_BYTES
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, value) and libc.mallopt(_M_TRIM_THRESHOLD, value))


@functools.lru_cache(maxsize=1)
def _glibc():
    """The process's C library when it is glibc (it has `mallopt` and `gnu_get_libc_version`)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        libc = ctypes.CDLL(name)
    except OSError:
        return None
    if not (hasattr(libc, "gnu_get_libc_version") and hasattr(libc, "mallopt")):
        return None
    libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    libc.mallopt.restype = ctypes.c_int
    return libc


DEVICES = ("cpu", "cuda", "auto")


def resolve_device(name: str = "cpu"):
    """`cpu`, `cuda` or `auto` (cuda where torch sees a GPU) as a torch device; asking for cuda
    without a GPU is a ConfigError."""
    if name not in DEVICES:
        raise ConfigError(f"--device must be one of {', '.join(DEVICES)}, not {name!r}")
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda: this torch sees no CUDA GPU; use --device cpu or auto")
    return torch.device(name)


def device_label(device) -> str:
    """What a row records: `cpu`, or the GPU's name."""
    return "cpu" if device.type == "cpu" else f"cuda ({torch.cuda.get_device_name(device)})"


def bf16_refusal(device_type: str = "cpu") -> str | None:
    """None where bf16 autocast multiplies natively on this device, else why not (one line).

    CPU: the x86 flags avx512_bf16 or amx_bf16 (oneDNN's bf16 GEMMs); without them bf16 runs
    through conversions and is slower than fp32. CUDA: `torch.cuda.is_bf16_supported()`."""
    if device_type == "cuda":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return None
        return "this GPU does not support bf16 (torch.cuda.is_bf16_supported() is False)"
    flags = _cpu_flags()
    if flags & {"avx512_bf16", "amx_bf16"}:
        return None
    return (
        "this CPU has neither AVX512-BF16 nor AMX-BF16, so bf16 would be slower than fp32 here; "
        "drop --precision bf16 (fp32 is the default)"
    )


def _cpu_flags() -> set[str]:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def autocast(precision: str, device_type: str = "cpu"):
    """The context a forward runs under: bf16 autocast for "bf16", nothing for "fp32"."""
    return torch.autocast(device_type, dtype=torch.bfloat16, enabled=precision == "bf16")


# --- the vocabulary head, in blocks of words ---------------------------------------------------
VOCAB_BLOCK = 1024
"""Words per matrix multiply in `vocab_logits`. One (rows x 576) @ (576 x 49,152) multiply runs at
under half this CPU's matmul peak (its output row outgrows the caches); 1,024-word blocks into one
output give the same numbers ~1.7x faster (a micro-benchmark here, 10-160 rows; the decoding it
saves is in results/speed-decode.csv)."""

# LMs whose `forward` is exactly `base_model` -> `slice_logits_to_keep` -> a plain linear head
# (checked against `forward` by the tests); any other LM takes its own `forward`.
_PLAIN_HEAD_LMS = frozenset({"LlamaForCausalLM", "GPT2LMHeadModel"})


class _BlockedHead(torch.autograd.Function):
    """hidden @ weight.T (+ bias), the forward in vocabulary blocks written into one output; the
    backward is the plain linear's (the same two products autograd takes for `F.linear`)."""

    @staticmethod
    def forward(ctx, hidden, weight, bias, out):
        flat = hidden.reshape(-1, hidden.shape[-1])
        words = weight.shape[0]
        if out is None:
            out = flat.new_empty(flat.shape[0], words)
        for start in range(0, words, VOCAB_BLOCK):
            stop = min(start + VOCAB_BLOCK, words)
            torch.mm(flat, weight[start:stop].t(), out=out[:, start:stop])
        if bias is not None:
            out.add_(bias)
        ctx.save_for_backward(flat, weight)
        ctx.has_bias = bias is not None
        ctx.hidden_shape = hidden.shape
        return out.view(*hidden.shape[:-1], words)

    @staticmethod
    def backward(ctx, grad):
        flat, weight = ctx.saved_tensors
        grad = grad.reshape(-1, grad.shape[-1])
        grad_hidden = grad.mm(weight).view(ctx.hidden_shape) if ctx.needs_input_grad[0] else None
        grad_weight = flat.t().mm(grad).t() if ctx.needs_input_grad[1] else None
        grad_bias = grad.sum(0) if ctx.has_bias and ctx.needs_input_grad[2] else None
        return grad_hidden, grad_weight, grad_bias, None


def _blockable(head: torch.nn.Module, hidden: torch.Tensor) -> bool:
    """Whether `vocab_logits` may run the head in blocks: a plain linear head, no autocast
    (autocast casts inside `F.linear`, which the blocks bypass), weights in the hidden's dtype."""
    return (
        type(head) is torch.nn.Linear
        and not torch.is_autocast_enabled(hidden.device.type)
        and hidden.dtype == head.weight.dtype
    )


def vocab_logits(
    lm: torch.nn.Module,
    logits_to_keep: int | torch.Tensor,
    out: torch.Tensor | None = None,
    **inputs,
) -> torch.Tensor:
    """`lm(**inputs, logits_to_keep=...).logits`, with the vocabulary head run in `VOCAB_BLOCK`
    blocks (the same numbers, faster) for the LMs whose forward is known to be base model, slice,
    head. `out`: a (positions kept, vocab) buffer the logits are written into, so the decoder
    does not allocate ~20 MB per step; used only without gradients (else a fresh tensor)."""
    if type(lm).__name__ not in _PLAIN_HEAD_LMS:
        return lm(logits_to_keep=logits_to_keep, **inputs).logits
    hidden = slice_logits_to_keep(lm.base_model(**inputs).last_hidden_state, logits_to_keep)
    head = lm.get_output_embeddings()
    if not _blockable(head, hidden):
        return head(hidden)
    if torch.is_grad_enabled():
        out = None  # autograd keeps the output: a reused buffer would be overwritten under it
    return _BlockedHead.apply(hidden, head.weight, head.bias, out)
