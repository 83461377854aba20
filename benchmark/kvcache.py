"""The decoder's key/value cache: written in place, the prefix and the prompts never copied per beam.

Three parts per layer, attended together under one softmax:

* the method's prefix, (1, n_kv, P, D): one copy shared by every row;
* the prompts, (prompts, n_kv, T, D): one copy per prompt, shared by its beams (every beam of a
  prompt starts from the same prompt, so its keys/values are the same);
* the generated tokens, (rows, n_kv, max_new, D) with rows = prompts x beams: preallocated, and
  each step writes one slot in place.

Reordering beams copies only the rows whose parent changed, and only their generated slots; a
prompt that finishes leaves the batch (its rows are dropped, the rest compacted once). transformers'
`DynamicCache` instead concatenates every layer's whole cache at each step and copies it again
on every beam reorder, with the prefix repeated in every row.

`attend` is called by `benchmark.attention.attention` from inside each layer of the LM.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class DecodeCache:
    def __init__(
        self,
        prefix: list[tuple[torch.Tensor, torch.Tensor]] | None,
        prompt_mask: torch.Tensor,
        capacity: int = 64,
    ) -> None:
        """prompt_mask: (prompts, T) 1 on real prompt tokens (left padding is 0). `capacity`:
        generated slots allocated at first (doubled when full)."""
        self.prefix = prefix
        self.prompt_valid = prompt_mask.bool()  # on the LM's device
        self.capacity = capacity
        self.beams = 1
        self.length = -1  # generated tokens written so far (-1: the prompt is not in yet)
        self.prompt_k: dict[int, torch.Tensor] = {}
        self.prompt_v: dict[int, torch.Tensor] = {}
        self.gen_k: dict[int, torch.Tensor] = {}
        self.gen_v: dict[int, torch.Tensor] = {}
        self._logits: torch.Tensor | None = None

    def logits_buffer(self, rows: int, head: torch.nn.Module) -> torch.Tensor:
        """A (rows, vocab) buffer for the next call's logits, reused from step to step: the decoder
        reads a step's logits before it feeds the next token, and a fresh ~20 MB tensor per step
        costs page faults that show in the profile."""
        weight = head.weight
        need = rows * weight.shape[0]
        buf = self._logits
        if buf is None or buf.numel() < need or buf.dtype != weight.dtype:
            buf = self._logits = weight.new_empty(need)
        return buf[:need].view(rows, weight.shape[0])

    @property
    def past(self) -> int:
        """Prefix length P (0 without one)."""
        return 0 if self.prefix is None else int(self.prefix[0][0].shape[2])

    @property
    def prompts(self) -> int:
        return int(self.prompt_valid.shape[0])

    # --- called from each layer --------------------------------------------------------------
    def attend(
        self, layer: int, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor, scaling
    ) -> torch.Tensor:
        """query (rows, H, T, D), key/value (rows, n_kv, T, D) of the tokens being fed; returns
        (rows, T, H, D). The first call per layer is the prompt (prefill), later ones one token."""
        if self.length < 0:
            return self._prefill(layer, query, key, value, scaling)
        return self._step(layer, query, key, value, scaling)

    def _prefill(self, layer, query, key, value, scaling):
        self.prompt_k[layer], self.prompt_v[layer] = key, value
        rows, kv_heads, width, dim = key.shape
        self.gen_k[layer] = key.new_empty(rows, kv_heads, self.capacity, dim)
        self.gen_v[layer] = value.new_empty(rows, kv_heads, self.capacity, dim)
        device = key.device
        causal = torch.ones(width, width, dtype=torch.bool, device=device).tril()
        # a left-padding query slot sees only itself (its output is never read; without a key
        # the softmax of its row would be NaN, and 0 x NaN spreads)
        diagonal = torch.eye(width, dtype=torch.bool, device=device)
        mask = (causal[None] & self.prompt_valid[:, None, :]) | diagonal  # (rows, query, key)
        if self.prefix is not None:
            prefix_k, prefix_v = self.prefix[layer]
            past = prefix_k.shape[2]
            key = torch.cat([prefix_k.to(key.dtype).expand(rows, -1, -1, -1), key], dim=2)
            value = torch.cat([prefix_v.to(value.dtype).expand(rows, -1, -1, -1), value], dim=2)
            prefix_mask = torch.ones(rows, width, past, dtype=torch.bool, device=device)
            mask = torch.cat([prefix_mask, mask], dim=2)
        out = F.scaled_dot_product_attention(
            query,
            key,
            value,
            attn_mask=mask.unsqueeze(1),
            scale=scaling,
            enable_gqa=query.shape[1] != key.shape[1],
        )
        return out.transpose(1, 2)

    def _step(self, layer, query, key, value, scaling):
        rows, heads, _, dim = query.shape
        kv_heads = key.shape[1]
        group = heads // kv_heads
        beams, prompts = self.beams, self.prompts
        t = self.length
        if t == self.gen_k[layer].shape[2]:  # full: double (rare; amortised)
            for store in (self.gen_k, self.gen_v):
                store[layer] = torch.cat([store[layer], torch.empty_like(store[layer])], dim=2)
        self.gen_k[layer][:, :, t] = key[:, :, 0]
        self.gen_v[layer][:, :, t] = value[:, :, 0]
        scale = dim**-0.5 if scaling is None else scaling
        q = query.view(rows, kv_heads, group, dim) * scale  # (rows, n_kv, g, D)
        # the prompt part: a prompt's beams ride in the query dimension of one matmul
        q_by_prompt = (
            q.view(prompts, beams, kv_heads, group, dim)
            .transpose(1, 2)
            .reshape(prompts, kv_heads, beams * group, dim)
        )
        prompt_scores = q_by_prompt @ self.prompt_k[layer].transpose(2, 3)  # (B, n_kv, k*g, T)
        prompt_scores = prompt_scores.masked_fill(
            ~self.prompt_valid[:, None, None, :], float("-inf")
        )
        gen_k = self.gen_k[layer][:, :, : t + 1]
        gen_scores = q @ gen_k.transpose(2, 3)  # (rows, n_kv, g, t + 1)
        parts = [prompt_scores.view(prompts, kv_heads, beams, group, -1).transpose(1, 2)]
        parts = [parts[0].reshape(rows, kv_heads, group, -1), gen_scores]
        if self.prefix is not None:
            prefix_k, prefix_v = self.prefix[layer]
            parts.insert(0, q @ prefix_k.transpose(2, 3))  # (1, ...) broadcast over rows
        weights = torch.softmax(torch.cat(parts, dim=-1), dim=-1)
        out = weights[..., -(t + 1) :] @ self.gen_v[layer][:, :, : t + 1]
        width = self.prompt_v[layer].shape[2]
        start = 0
        if self.prefix is not None:
            past = self.prefix[layer][1].shape[2]
            out = out + weights[..., :past] @ self.prefix[layer][1]
            start = past
        prompt_w = (
            weights[..., start : start + width]
            .reshape(prompts, beams, kv_heads, group, width)
            .transpose(1, 2)
            .reshape(prompts, kv_heads, beams * group, width)
        )
        prompt_out = (prompt_w @ self.prompt_v[layer]).view(prompts, kv_heads, beams, group, dim)
        out = out + prompt_out.transpose(1, 2).reshape(rows, kv_heads, group, dim)
        return out.view(rows, heads, 1, dim).transpose(1, 2)

    # --- called by the decoder between steps --------------------------------------------------
    def advance(self, fed: int) -> None:
        """Every layer took the `fed` tokens per row of the last call (the prompt, then one)."""
        self.length = 0 if self.length < 0 else self.length + fed

    def expand_beams(self, beams: int) -> None:
        """After the prompt: every prompt now has `beams` rows (the generated part only)."""
        self.beams = beams
        for store in (self.gen_k, self.gen_v):
            for layer, buf in store.items():
                store[layer] = buf.repeat_interleave(beams, 0)

    def select(self, rows: torch.Tensor, prompts: torch.Tensor | None) -> None:
        """New row i continues old row `rows[i]`; `prompts` (old prompt indices, in order) when
        some prompts left the batch, else None."""
        t = self.length
        if prompts is not None:
            self.prompt_valid = self.prompt_valid[prompts]
            for store in (self.prompt_k, self.prompt_v):
                for layer, buf in store.items():
                    store[layer] = buf.index_select(0, prompts)
            for store in (self.gen_k, self.gen_v):
                for layer, buf in store.items():
                    kept = buf.new_empty(rows.shape[0], *buf.shape[1:])
                    kept[:, :, :t] = buf[rows, :, :t]  # only the slots written so far
                    store[layer] = kept
            return
        moved = (rows != torch.arange(rows.shape[0], device=rows.device)).nonzero().view(-1)
        if moved.numel() == 0:
            return
        parents = rows[moved]
        for store in (self.gen_k, self.gen_v):
            for buf in store.values():
                buf[moved, :, :t] = buf[parents, :, :t]
