"""Infix-tuning (INFIX-k, paper §7.3): trainable activations placed between source and target,
[x; INFIX; y], in every layer like the prefix (anchor `get_prompt_p5_infix`, R17).

The frozen LM runs over [emb(x); k trainable input vectors] to give keys/values for the source and
infix positions; an MLP-reparameterised term (as prefix-tuning's) is added to the infix positions'
keys/values in every layer. y then attends to [x; infix] with mask [mask(x); 1*k; mask(y)] and
positions that start at |x| + k. The source never sees the infix (it comes after it, causally).

Decoder-only LMs only: in an encoder-decoder LM x and y live in different stacks, so there is no
"between x and y" in one sequence, and the paper defines INFIX-k on GPT-2 table-to-text only (§7.3).

    python -m benchmark run --method infix --set prefix_len=10 --train-size 50 --scale smoke
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

import torch
from torch import nn
from transformers import DynamicCache

from benchmark import attention
from benchmark.layout import IGNORE, TrainBatch
from benchmark.lm import (
    cache_from_layers,
    hidden_size,
    kv_geometry,
    lm_call,
    positions_from_mask,
    run_into_cache,
    split_flat_prefix,
    vocab_logits,
)
from benchmark.methods.base import AdaptedLM, Anchor, DecodeState, MethodSpec
from benchmark.methods.blocks import require_decoder_only
from benchmark.methods.reparam import reparam_mlp
from benchmark.models import LoadedModel


@dataclass(frozen=True)
class InfixConfig:
    prefix_len: int = 10  # k; paper ACL Table 5 reports INFIX-1, INFIX-10, INFIX-20
    mid_dim: int = 512  # the reparameterisation MLP of prefix-tuning (ACL fn 4)
    loss_reduction: str = "sequence_sum"  # prefix-family objective of the anchor (R21)

    def __post_init__(self) -> None:
        if self.prefix_len < 1:
            raise ValueError("prefix_len must be >= 1")


class InfixTuned(AdaptedLM):
    def __init__(self, loaded: LoadedModel, config: InfixConfig) -> None:
        require_decoder_only(
            loaded,
            "infix",
            "[x; INFIX; y] needs x and y in one sequence; an encoder-decoder LM splits them "
            "between its encoder and decoder (paper §7.3 is GPT-2 only)",
        )
        super().__init__(loaded)
        self.config = config
        self.loss_reduction = config.loss_reduction
        self.sep_id = loaded.sep_id
        self.pad_id = loaded.pad_id
        for p in self.lm.parameters():
            p.requires_grad_(False)
        self.geometry = kv_geometry(self.lm.config)
        d = hidden_size(self.lm.config)
        k = config.prefix_len
        table = self.lm.get_input_embeddings().weight
        # input vectors start as random real-token embeddings: in the range the LM expects
        self.inputs = nn.Parameter(table[torch.randint(0, table.shape[0], (k,))].detach().clone())
        self.embedding = nn.Embedding(k, d)
        self.mlp = reparam_mlp(d, config.mid_dim, self.geometry.width)
        self.register_buffer("ejected_term", None)

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()
        return self

    def additive_term(self) -> torch.Tensor:
        """(k, 2*L*n_kv*head_dim), added to the infix positions' keys/values."""
        if self.ejected_term is not None:
            return self.ejected_term
        return self.mlp(self.embedding.weight)

    # --- the [x; infix] part -------------------------------------------------------------------
    def encode_source(
        self, source: torch.Tensor, source_mask: torch.Tensor, split: bool = True
    ) -> tuple[DynamicCache, torch.Tensor]:
        """Keys/values of [x; infix] for left-padded sources (B, Tx); returns the cache and its
        attention mask (B, Tx + k).

        `split`: x's keys/values depend on nothing trainable (x comes first, the LM is frozen), so
        x runs without gradients and only the k infix positions run with them, attending to x's
        cache; the same keys/values as one pass over [x; infix] (`split=False`, the anchor's way),
        without the backward through x's positions."""
        batch, k = source.shape[0], self.config.prefix_len
        infix = self.inputs.unsqueeze(0).expand(batch, -1, -1)
        mask = torch.cat(
            [source_mask, torch.ones(batch, k, dtype=source_mask.dtype, device=source.device)],
            dim=1,
        )
        if split:
            with torch.no_grad():
                cache = run_into_cache(self.lm, source_mask, input_ids=source)
            start = source_mask.sum(1, keepdim=True)  # x took positions 0..|x|-1
            lm_call(
                self.lm,
                inputs_embeds=infix,
                attention_mask=mask,
                position_ids=start + torch.arange(k, device=source.device),
                cache=cache,
                logits_to_keep=1,
            )
        else:
            embeds = torch.cat([self.lm.get_input_embeddings()(source), infix], dim=1)
            cache = run_into_cache(self.lm, mask, inputs_embeds=embeds)
        term = self.additive_term()
        added = split_flat_prefix(term.unsqueeze(0).expand(batch, *term.shape), self.geometry)
        layers = []
        for layer, (key_add, value_add) in zip(cache.layers, added):
            keys = torch.cat([layer.keys[:, :, :-k], layer.keys[:, :, -k:] + key_add], dim=2)
            values = torch.cat(
                [layer.values[:, :, :-k], layer.values[:, :, -k:] + value_add], dim=2
            )
            layers.append((keys, values))
        return cache_from_layers(layers), mask

    def _split(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        """Cut each row at its separator: left-padded sources, right-padded [sep; y] parts."""
        rows = []
        for ids, mask in zip(input_ids, attention_mask):
            real = ids[mask.bool()]
            where = (real == self.sep_id).nonzero()
            if len(where) == 0:
                raise ValueError("infix needs the separator token between source and target")
            cut = int(where[0])
            rows.append((real[:cut], real[cut:], int((mask.cumsum(0) == 0).sum())))
        width_x = max(len(x) for x, _, _ in rows)
        width_y = max(len(y) for _, y, _ in rows)
        batch = len(rows)
        on = {"dtype": torch.long, "device": input_ids.device}
        source = torch.full((batch, width_x), self.pad_id, **on)
        source_mask = torch.zeros((batch, width_x), **on)
        target = torch.full((batch, width_y), self.pad_id, **on)
        target_mask = torch.zeros((batch, width_y), **on)
        for b, (x, y, _) in enumerate(rows):
            source[b, width_x - len(x) :] = x
            source_mask[b, width_x - len(x) :] = 1
            target[b, : len(y)] = y
            target_mask[b, : len(y)] = 1
        return rows, source, source_mask, target, target_mask

    def _run_target(self, input_ids, attention_mask, targets_only: bool = False, split=True):
        """`targets_only`: logits (K, vocab) at the positions of [sep; y] that predict y and
        eos (row-major, as `TrainBatch.targets`), else (B, |y| + 1, vocab). `split`: see
        `encode_source`."""
        rows, source, source_mask, target, target_mask = self._split(input_ids, attention_mask)
        cache, mask = self.encode_source(source, source_mask, split)
        start = source_mask.sum(1) + self.config.prefix_len  # y's positions start at |x| + k
        full_mask = torch.cat([mask, target_mask], dim=1)
        positions = positions_from_mask(target_mask, start)
        keep: int | torch.Tensor = 0
        if targets_only:
            keep = torch.zeros_like(target_mask, dtype=torch.bool)
            keep[:, :-1] = target_mask[:, 1:].bool()
        out = lm_call(
            self.lm,
            input_ids=target,
            attention_mask=full_mask,
            position_ids=positions,
            cache=cache,
            logits_to_keep=keep,
        )
        return rows, out.logits, cache, full_mask, positions

    def target_logits(self, batch: TrainBatch, packed: bool = True) -> torch.Tensor:
        """Only y's logits are computed (the LM head and softmax skip x and the padding).

        `packed` (where the LM takes the suite's attention): the [sep; y] parts of the rows run
        back to back as one sequence, each row attending to its own [x; infix] keys/values
        (`attention.Packed.row_past`), so y's linear layers see no padding."""
        if self.packs is None:
            self.packs = attention.install(self.lm)
        if not (packed and self.packs):
            return self._run_target(batch.ids, batch.mask, targets_only=True)[1]
        rows, source, source_mask, _, _ = self._split(batch.ids, batch.mask)
        cache, mask = self.encode_source(source, source_mask)
        device = batch.ids.device
        lengths = torch.tensor([len(y) for _, y, _ in rows], device=device)
        width = int(lengths.max())
        offsets = torch.cat([torch.arange(len(y), device=device) for _, y, _ in rows])
        row_of = torch.repeat_interleave(torch.arange(len(rows), device=device), lengths)
        starts = source_mask.sum(1) + self.config.prefix_len  # y's positions start at |x| + k
        predicts = offsets < (lengths - 1)[row_of]  # every y token but the row's last (eos)
        packing = attention.Packed(
            row_of * width + offsets,
            lengths,
            width,
            row_past=[(layer.keys, layer.values) for layer in cache.layers],
            past_mask=mask.bool(),
        )
        return vocab_logits(
            self.lm,
            predicts.unsqueeze(0),
            input_ids=torch.cat([y for _, y, _ in rows]).unsqueeze(0),
            position_ids=(starts[row_of] + offsets).unsqueeze(0),
            use_cache=False,
            **{attention.PACKED: packing},
        )

    def forward(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor, split: bool = True
    ) -> torch.Tensor:
        rows, logits, *_ = self._run_target(input_ids, attention_mask, split=split)
        # put y's logits back where y sits in the caller's layout; source slots stay zero (their
        # labels are ignored)
        out = logits.new_zeros(*input_ids.shape, logits.shape[-1])
        for b, (x, y, left_pad) in enumerate(rows):
            start = left_pad + len(x)
            out[b, start : start + len(y)] = logits[b, : len(y)]
        return out

    def prefill(self, input_ids: torch.Tensor, attention_mask: torch.Tensor):
        _, logits, cache, full_mask, positions = self._run_target(input_ids, attention_mask)
        return logits[:, -1], DecodeState(cache, full_mask, positions[:, -1] + 1)

    def finalize(self) -> None:
        with torch.no_grad():
            self.ejected_term = self.additive_term().detach().clone()
        del self.embedding, self.mlp
        self.inputs.requires_grad_(False)

    def stored_state(self) -> dict[str, torch.Tensor]:
        if self.ejected_term is None:
            raise RuntimeError("call finalize() before storing")
        return {"infix_inputs": self.inputs.detach(), "infix_term": self.ejected_term}

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        self.finalize()
        if state["infix_term"].shape != self.ejected_term.shape:
            raise ValueError(f"stored infix term is not {tuple(self.ejected_term.shape)}")
        self.ejected_term = state["infix_term"].clone()
        with torch.no_grad():
            self.inputs.copy_(state["infix_inputs"])

    def method_info(self) -> dict:
        return {"prefix_len": self.config.prefix_len, "loss_reduction": self.loss_reduction}


class _FullLogits(nn.Module):
    """Infix's step as it was before target-only logits and the split source: one pass with
    gradients over [x; infix], logits at every position of the padded batch, token-level
    cross-entropy over the labels (PEFT has no infix; this is its anchor)."""

    def __init__(self, adapted: InfixTuned) -> None:
        super().__init__()
        self.adapted = adapted

    def forward(self, input_ids, attention_mask, labels):
        logits = self.adapted(input_ids, attention_mask, split=False)[:, :-1]
        loss = nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE
        )
        return SimpleNamespace(loss=loss)


def full_logits_anchor(loaded: LoadedModel, config: InfixConfig, adapted: AdaptedLM) -> Anchor:
    return Anchor(
        "ours, full logits (no library has infix)",
        _FullLogits(adapted),
        adapted.trainable_parameters(),
    )


SPEC = MethodSpec(InfixConfig, InfixTuned, anchor=full_logits_anchor)
REGISTER = {
    "infix": (
        "SPEC",
        "INFIX-k: trainable activations between source and target, [x; infix; y] (paper §7.3)",
    )
}
