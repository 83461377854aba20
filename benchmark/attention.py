"""The suite's attention function for decoder-only LMs: SDPA, plus two ways of calling it that
transformers' own layers do not offer.

* **Packed training rows** (`Packed`): a batch's rows are concatenated into one sequence, so the
  linear layers, norms and MLPs (most of the work) see no padding. Only attention needs the rows
  apart: each layer scatters its queries, keys and values back into a (rows, width) grid, runs
  SDPA with a per-row causal mask (the key/value prefix visible to every row), and gathers the
  outputs back. Attention thus costs what it costs on the padded batch, and everything else costs
  only the real tokens.
* **Decoding with the suite's own cache** (`benchmark.kvcache.DecodeCache`): keys and values are
  written in place into preallocated buffers; the method's prefix is kept once and shared by
  every row.

Without either keyword the function is transformers' SDPA with the same arguments, so an LM that
uses it behaves exactly as with `attn_implementation="sdpa"` (PEFT parity tests call it that way).

The LM's layers pass any extra keyword of its `forward` down to the attention function
(transformers 5.x `AttentionInterface`); `install` registers the function and switches an LM to it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from transformers import AttentionInterface, PreTrainedModel
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

IMPLEMENTATION = "benchmark-sdpa"
PACKED = "bench_packed"  # forward keyword carrying a `Packed`
DECODE = "bench_cache"  # forward keyword carrying a `benchmark.kvcache.DecodeCache`

_registered = False


def install(lm: torch.nn.Module) -> bool:
    """Switch `lm` to the suite's attention function; False (and no change) when the LM's layers do
    not call transformers' attention interface (it then trains on padded batches)."""
    global _registered
    if not isinstance(lm, PreTrainedModel) or not lm._can_set_attn_implementation():
        return False
    if lm.config._attn_implementation not in ("sdpa", IMPLEMENTATION):
        return False  # eager or flash on purpose: leave it
    if not _registered:
        AttentionInterface.register(IMPLEMENTATION, attention)
        ALL_MASK_ATTENTION_FUNCTIONS.register(IMPLEMENTATION, sdpa_mask)
        _registered = True
    lm.set_attn_implementation(IMPLEMENTATION)
    return True


def installed(lm: torch.nn.Module) -> bool:
    config = getattr(lm, "config", None)
    return getattr(config, "_attn_implementation", None) == IMPLEMENTATION


@dataclass
class Packed:
    """Where each token of a packed row sits in the (rows, width) grid of the padded batch.

    slots: (N,) row * width + position of each packed token, rows in order.
    lengths: (rows,) real tokens per row.
    prefix: per layer (key, value), each (1, n_kv, P, head_dim), shared by every row; or None.
    row_past: per layer (key, value), each (rows, n_kv, P, head_dim): keys/values each row sees
        before its own tokens (infix's [x; infix]), with `past_mask` (rows, P) bool marking the
        real ones; or None. Not together with `prefix`.
    """

    slots: torch.Tensor
    lengths: torch.Tensor
    width: int
    prefix: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    row_past: list[tuple[torch.Tensor, torch.Tensor]] | None = None
    past_mask: torch.Tensor | None = None
    _masks: dict[int, torch.Tensor] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.row_past is not None and (self.prefix is not None or self.past_mask is None):
            raise ValueError("row_past needs past_mask and excludes a shared prefix")

    @property
    def rows(self) -> int:
        return int(self.lengths.shape[0])

    def mask(self, past: int) -> torch.Tensor:
        """(rows, 1, width, past + width) bool: the prefix (or the row's own past, where real),
        then causal within the row's real tokens."""
        if past not in self._masks:
            device = self.lengths.device
            pos = torch.arange(self.width, device=device)
            causal = pos[None, :] <= pos[:, None]  # (query, key)
            real = pos[None, :] < self.lengths[:, None]  # (rows, key)
            own = causal[None] & real[:, None, :]
            # a padded query slot sees the row's real tokens; its output is never gathered back
            if self.past_mask is not None:
                prefix = self.past_mask.bool()[:, None, :].expand(-1, self.width, -1)
            else:
                prefix = torch.ones(self.rows, self.width, past, dtype=torch.bool, device=device)
            self._masks[past] = torch.cat([prefix, own], dim=2).unsqueeze(1)
        return self._masks[past]

    def grid(self, x: torch.Tensor) -> torch.Tensor:
        """(1, heads, N, D) -> (rows, heads, width, D), zeros in the padding slots."""
        heads, dim = x.shape[1], x.shape[3]
        flat = x.new_zeros(self.rows * self.width, heads, dim)
        flat = flat.index_copy(0, self.slots, x[0].transpose(0, 1))
        return flat.view(self.rows, self.width, heads, dim).transpose(1, 2)

    def ungrid(self, x: torch.Tensor) -> torch.Tensor:
        """(rows, heads, width, D) -> (1, N, heads, D): the packed tokens' rows, in order."""
        rows, heads, width, dim = x.shape
        flat = x.transpose(1, 2).reshape(rows * width, heads, dim)
        return flat.index_select(0, self.slots).unsqueeze(0)


def attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs,
):
    """The attention interface's signature; returns (output (B, T, heads, D), None)."""
    packed = kwargs.pop(PACKED, None)
    cache = kwargs.pop(DECODE, None)
    if packed is not None:
        return _packed(module, query, key, value, packed, dropout, scaling), None
    if cache is not None:
        return cache.attend(module.layer_idx, query, key, value, scaling), None
    return sdpa_attention_forward(
        module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
    )


def _packed(module, query, key, value, packed: Packed, dropout: float, scaling):
    q, k, v = packed.grid(query), packed.grid(key), packed.grid(value)
    past = 0
    if packed.prefix is not None:
        prefix_k, prefix_v = packed.prefix[module.layer_idx]
        past = prefix_k.shape[2]
        k = torch.cat([prefix_k.to(k.dtype).expand(packed.rows, -1, -1, -1), k], dim=2)
        v = torch.cat([prefix_v.to(v.dtype).expand(packed.rows, -1, -1, -1), v], dim=2)
    elif packed.row_past is not None:
        past_k, past_v = packed.row_past[module.layer_idx]
        past = past_k.shape[2]
        k = torch.cat([past_k.to(k.dtype), k], dim=2)
        v = torch.cat([past_v.to(v.dtype), v], dim=2)
    out = F.scaled_dot_product_attention(
        q,
        k,
        v,
        attn_mask=packed.mask(past),
        dropout_p=dropout,
        scale=scaling,
        enable_gqa=q.shape[1] != k.shape[1],
    )
    return packed.ungrid(out)
