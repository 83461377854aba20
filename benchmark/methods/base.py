"""The interface every method implements: `AdaptedLM` (what trains, the key/value prefix, what is
stored), `DecodeState` and `MethodSpec` (a config class and a builder).

The interface is a decoder-only one (rows ``[source; sep; target; eos]``); for an encoder-decoder
LM the base class routes `forward`, `prefill` and `step` through `benchmark.methods.seq2seq`, which
cuts each row at its separator, so finetune, ft-top2 and adapter need no code of their own for BART
and prefix-tuning only supplies `attention_prefix`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from transformers import DynamicCache

from benchmark import attention
from benchmark.errors import ConfigError, UnsupportedModelError
from benchmark.kvcache import DecodeCache
from benchmark.layout import TrainBatch
from benchmark.lm import cache_from_layers, lm_call, positions_from_mask, vocab_logits
from benchmark.methods import seq2seq
from benchmark.models import LoadedModel


@dataclass
class DecodeState:
    """What incremental decoding carries from step to step (rows = batch x beams)."""

    cache: DynamicCache
    attention_mask: torch.Tensor  # (rows, everything in the cache); 1 = attend
    next_position: torch.Tensor  # (rows,) position id of the next token

    def repeat_interleave(self, times: int) -> None:
        self.cache.batch_repeat_interleave(times)
        self.attention_mask = self.attention_mask.repeat_interleave(times, 0)
        self.next_position = self.next_position.repeat_interleave(times, 0)

    def select(self, rows: torch.Tensor, prompts: torch.Tensor | None = None) -> None:
        """New row i continues old row `rows[i]` (`prompts`: which prompts stayed, unused here)."""
        self.cache.reorder_cache(rows)
        self.attention_mask = self.attention_mask[rows]
        self.next_position = self.next_position[rows]


@dataclass
class SharedDecodeState:
    """Decoding state on the suite's own cache (`benchmark.kvcache.DecodeCache`): the prefix and
    the prompts held once, generated keys/values written in place."""

    cache: DecodeCache
    next_position: torch.Tensor  # (rows,)

    def repeat_interleave(self, times: int) -> None:
        self.cache.expand_beams(times)
        self.next_position = self.next_position.repeat_interleave(times, 0)

    def select(self, rows: torch.Tensor, prompts: torch.Tensor | None = None) -> None:
        """New row i continues old row `rows[i]`; `prompts`: the old indices of the prompts
        still searching, when some left."""
        self.cache.select(rows, prompts)
        self.next_position = self.next_position[rows]


class AdaptedLM(torch.nn.Module):
    """An LM as a method changes it.

    Subclasses decide which parameters train (`requires_grad`), may supply a key/value prefix
    through `past` (decoder-only) or `attention_prefix` (encoder-decoder), and say what is stored
    after training (`stored_state`). The default decoder-only forward puts `past` in front of the
    input with positions shifted by its length (R8) and an attention mask of ones over it (R10).
    """

    loss_reduction: str = "token_mean"  # "token_mean" or "sequence_sum" (per-sequence sum, R21)

    def __init__(self, loaded: LoadedModel) -> None:
        super().__init__()
        self.lm = loaded.model
        self.layout: seq2seq.Seq2SeqLayout | None = None
        self.packs: bool | None = None  # decided by `can_pack` on first use, then kept
        if loaded.family == "encoder-decoder":
            if type(self).prefix_layers is not AdaptedLM.prefix_layers:
                # a decoder-only prefix would be silently dropped on the seq2seq path
                raise UnsupportedModelError(
                    f"{type(self).__name__} builds a decoder-only key/value prefix; "
                    f"{loaded.name} is an encoder-decoder LM"
                )
            self.layout = seq2seq.Seq2SeqLayout.of(loaded)

    # --- what a method may override -------------------------------------------------------------
    def prefix_layers(self) -> list[tuple[torch.Tensor, torch.Tensor]] | None:
        """Decoder-only key/value prefix, or None: per layer (key, value), each
        (1, n_kv, P, head_dim). Computed once per call (once per training step) and shared by
        every row of a batch."""
        return None

    def attention_prefix(self) -> seq2seq.AttentionPrefix | None:
        """Encoder-decoder LMs: per-layer prefixes for the encoder self-, decoder self- and
        cross-attention (each (1, H, P, head_dim)), or None."""
        return None

    def stored_state(self) -> dict[str, torch.Tensor]:
        """Tensors that must be saved to reproduce the trained model (after `finalize`)."""
        return {n: p.detach() for n, p in self.named_parameters() if p.requires_grad}

    def finalize(self) -> None:
        """Called once after training (e.g. the prefix MLP is ejected here)."""

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        """Put back what `stored_state` saved (after `finalize`), to decode without retraining.
        This default covers methods whose stored state is their trainable parameters."""
        self.finalize()
        params = dict(self.named_parameters())
        unknown = sorted(set(state) - set(params))
        if unknown:
            raise ValueError(f"stored tensors {unknown[:3]} do not belong to {type(self).__name__}")
        with torch.no_grad():
            for name, tensor in state.items():
                if params[name].shape != tensor.shape:
                    raise ValueError(f"stored {name} has shape {tuple(tensor.shape)}")
                params[name].copy_(tensor)

    def method_info(self) -> dict[str, Any]:
        """Extra provenance for the results row."""
        return {}

    # --- shared machinery ---------------------------------------------------------------------
    def trainable_parameters(self) -> list[torch.nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]

    def past(self, batch_size: int) -> DynamicCache | None:
        """`prefix_layers` expanded over `batch_size` rows as a cache (it mutates: built anew)."""
        layers = self.prefix_layers()
        if layers is None:
            return None
        return cache_from_layers(
            [
                (k.expand(batch_size, -1, -1, -1), v.expand(batch_size, -1, -1, -1))
                for k, v in layers
            ]
        )

    @property
    def can_pack(self) -> bool:
        """Whether `target_logits` runs packed rows: a decoder-only LM whose layers call
        transformers' attention interface, and a method that keeps the base forward (its
        prefix, if any, comes from `prefix_layers`)."""
        if self.layout is not None or type(self).forward is not AdaptedLM.forward:
            return False
        if self.packs is None:  # decided once: the LM's layers do not change
            self.packs = attention.install(self.lm)
        return self.packs

    def target_logits(self, batch: TrainBatch, packed: bool = True) -> torch.Tensor:
        """Logits (K, vocab) at the batch's K target positions (row-major), the only ones the
        loss reads: the LM head and the softmax never see the other positions.

        `packed` (when `can_pack`): the rows run as one sequence without padding
        (`benchmark.attention.Packed`); otherwise the padded batch through `forward`."""
        if not (packed and self.can_pack):
            if type(self).forward is AdaptedLM.forward and self.layout is None:
                keep = batch.padded_predicts()
                return self._run(batch.ids, batch.mask, logits_to_keep=keep)[0]
            return self(batch.ids, batch.mask)[batch.padded_predicts()]
        prefix = self.prefix_layers()
        past = prefix[0][0].shape[2] if prefix is not None else 0
        packing = attention.Packed(batch.slots, batch.lengths, batch.ids.shape[1], prefix)
        return vocab_logits(
            self.lm,
            batch.predicts,
            input_ids=batch.packed_ids,
            position_ids=(batch.offsets + past).unsqueeze(0),
            use_cache=False,
            **{attention.PACKED: packing},
        )

    def _run(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        logits_to_keep: int | torch.Tensor = 0,
    ):
        batch = input_ids.shape[0]
        cache = self.past(batch)
        past_len = cache.get_seq_length() if cache is not None else 0
        if cache is None:
            cache = DynamicCache()
        ones = torch.ones(batch, past_len, dtype=attention_mask.dtype, device=attention_mask.device)
        full_mask = torch.cat([ones, attention_mask], dim=1)
        positions = positions_from_mask(attention_mask, past_len)
        out = lm_call(
            self.lm,
            input_ids=input_ids,
            attention_mask=full_mask,
            position_ids=positions,
            cache=cache,
            logits_to_keep=logits_to_keep,
        )
        return out.logits, cache, full_mask, positions

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Teacher-forced logits, (B, T, vocab), aligned with `input_ids`."""
        if self.layout is not None:
            return seq2seq.forward(
                self.lm, self.layout, input_ids, attention_mask, self.attention_prefix()
            )
        return self._run(input_ids, attention_mask)[0]

    def prefill(
        self, input_ids: torch.Tensor, attention_mask: torch.Tensor
    ) -> tuple[torch.Tensor, DecodeState | seq2seq.Seq2SeqDecodeState]:
        """Run left-padded prompts; return the last position's logits (B, vocab) and the state."""
        if self.layout is not None:
            return seq2seq.prefill(
                self.lm, self.layout, input_ids, attention_mask, self.attention_prefix()
            )
        if self.can_pack:
            prefix = self.prefix_layers()
            cache = DecodeCache(prefix, attention_mask)
            positions = positions_from_mask(attention_mask, cache.past)
            logits = self._cached_call(input_ids, positions, cache)
            return logits, SharedDecodeState(cache, positions[:, -1] + 1)
        logits, cache, full_mask, positions = self._run(input_ids, attention_mask, 1)
        return logits[:, -1], DecodeState(cache, full_mask, positions[:, -1] + 1)

    def _cached_call(
        self, input_ids: torch.Tensor, positions: torch.Tensor, cache: DecodeCache
    ) -> torch.Tensor:
        """Last-position logits (rows, vocab) of `input_ids` fed through the suite's cache."""
        logits = vocab_logits(
            self.lm,
            1,
            out=cache.logits_buffer(input_ids.shape[0], self.lm.get_output_embeddings()),
            input_ids=input_ids,
            position_ids=positions,
            use_cache=False,
            **{attention.DECODE: cache},
        )
        cache.advance(input_ids.shape[1])
        return logits[:, -1]

    def step(
        self, tokens: torch.Tensor, state: DecodeState | seq2seq.Seq2SeqDecodeState
    ) -> torch.Tensor:
        """Feed one token per row (rows,), return next-token logits (rows, vocab); updates state."""
        if isinstance(state, seq2seq.Seq2SeqDecodeState):
            return seq2seq.step(self.lm, tokens, state)
        if isinstance(state, SharedDecodeState):
            logits = self._cached_call(
                tokens.view(-1, 1), state.next_position.view(-1, 1), state.cache
            )
            state.next_position = state.next_position + 1
            return logits
        ones = torch.ones(
            tokens.shape[0], 1, dtype=state.attention_mask.dtype, device=tokens.device
        )
        state.attention_mask = torch.cat([state.attention_mask, ones], dim=1)
        out = lm_call(
            self.lm,
            input_ids=tokens.view(-1, 1),
            attention_mask=state.attention_mask,
            position_ids=state.next_position.view(-1, 1),
            cache=state.cache,
            logits_to_keep=1,
        )
        state.next_position = state.next_position + 1
        return out.logits[:, -1]


@dataclass
class Anchor:
    """The fastest outside implementation of a method's training step, which `benchmark speed`
    times against ours: `model(input_ids=, attention_mask=, labels=).loss` trained on `params`."""

    name: str
    model: torch.nn.Module
    params: list[torch.nn.Parameter]


def plain_loop_anchor(adapted: AdaptedLM) -> Anchor:
    """The anchor of a method PEFT does not have: the plain transformers loop (`labels=`: padded
    batch, logits at every position) over the same LM and the same trainable parameters."""
    return Anchor("transformers loop (labels=)", adapted.lm, adapted.trainable_parameters())


@dataclass(frozen=True)
class MethodSpec:
    """A registered method: its config class, a builder `(loaded, config) -> AdaptedLM`, and the
    anchor its speed is measured against, `(loaded, config, adapted) -> Anchor` (default: the
    plain transformers loop)."""

    config_cls: type
    build: Callable[[LoadedModel, Any], AdaptedLM]
    anchor: Callable[[LoadedModel, Any, AdaptedLM], Anchor] | None = None

    def make_anchor(self, loaded: LoadedModel, config: Any, adapted: AdaptedLM) -> Anchor:
        if self.anchor is None:
            return plain_loop_anchor(adapted)
        return self.anchor(loaded, config, adapted)

    def make_config(self, overrides: dict[str, Any] | None = None):
        fields = {f.name for f in dataclasses.fields(self.config_cls)}
        unknown = set(overrides or {}) - fields
        if unknown:
            raise ConfigError(
                f"unknown option(s) {sorted(unknown)} for {self.config_cls.__name__}; "
                f"known: {sorted(fields)}"
            )
        return self.config_cls(**(overrides or {}))


def count_parameters(tensors) -> int:
    return sum(t.numel() for t in {id(t): t for t in tensors}.values())
