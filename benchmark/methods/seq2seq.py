"""Encoder-decoder LMs (BART) behind the decoder-only `AdaptedLM` interface, so that the trainer and
the decoder need no change (STYLE: the trainer never names a family or a method).

Both hand a method rows laid out for a decoder-only LM: ``[source; sep; target; eos]`` right-padded
for training, ``[source; sep]`` left-padded for decoding. Here each row is cut at the first
separator among its real tokens (as `methods/infix.py` does) and fed as

    encoder  <-  source_affixes[0] + source + source_affixes[1]     right-padded
    decoder  <-  [sep] + decoder_prompt + target + [eos]            sep = the decoder start token

The encoder is right-padded because BART numbers encoder positions from the first slot whatever the
mask says, so only right padding gives a padded row the positions it has alone. The decoder's logits
are scattered back into the caller's layout so that the logit at the caller's `sep` predicts the
first target token (read after the forced `decoder_prompt`); the trainer's next-token loss on the
caller's layout is then exactly the seq2seq loss. Source slots get zero logits (their labels are
ignored), so the result is as large as a decoder-only LM's logits over the same rows.

Prefixes (prefix-tuning on BART: anchor `seq2seq/prefixTuning.py`, A.6, R11). An `AttentionPrefix`
holds per-layer keys/values for the encoder self-attention, the decoder self-attention and the
decoder cross-attention. A custom transformers attention implementation (`install_prefix_attention`)
puts them in front of each attention's keys/values and extends the mask with ones; they never enter
the cache. So the encoder (which has no cache) gets its prefix, the cross-attention keys are
``[prefix; source]`` (P + source length) while its cache holds the source alone, and BART's decoder
positions, which it derives from the cache length, are not shifted by P, as in the anchor (R9).

    python -m benchmark run --method prefix --model tiny-bart --prefix-len 3 --train-size 50 \
        --scale smoke
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn
from transformers import AttentionInterface, DynamicCache, EncoderDecoderCache
from transformers.masking_utils import AttentionMaskInterface, eager_mask, sdpa_mask
from transformers.modeling_utils import ALL_ATTENTION_FUNCTIONS

from benchmark.errors import UnsupportedModelError
from benchmark.lm import cache_kwargs
from benchmark.models import LoadedModel

PREFIX_ATTENTION = "prefix_tuning_"  # + the model's own implementation ("sdpa" or "eager")


@dataclass(frozen=True)
class Seq2SeqLayout:
    """How a decoder-only row maps onto an encoder-decoder LM (see `LoadedModel`)."""

    sep_id: int  # the caller's separator = the decoder start token
    pad_id: int
    source_before: tuple[int, ...]  # BART: (<s>,)
    source_after: tuple[int, ...]  # BART: (</s>,)
    decoder_prompt: tuple[int, ...]  # forced after the start token, no loss (BART-large: <s>)

    @classmethod
    def of(cls, loaded: LoadedModel) -> Seq2SeqLayout:
        before, after = loaded.source_affixes
        return cls(loaded.sep_id, loaded.pad_id, before, after, loaded.decoder_prompt)


@dataclass
class SplitRows:
    """A caller batch cut at each row's separator."""

    source: torch.Tensor  # (B, S) encoder input, right-padded, affixes included
    source_mask: torch.Tensor  # (B, S)
    decoder: torch.Tensor  # (B, D) [sep; decoder_prompt; tokens after sep], right-padded
    decoder_mask: torch.Tensor  # (B, D)
    slots: list[torch.Tensor]  # per row: the caller's columns of sep and the tokens after it


def split_rows(
    input_ids: torch.Tensor, attention_mask: torch.Tensor, layout: Seq2SeqLayout
) -> SplitRows:
    """Cut (B, T) caller rows, left- or right-padded, at the first separator of each row."""
    sources, decoders, slots = [], [], []
    for ids, mask in zip(input_ids, attention_mask):
        columns = mask.bool().nonzero().squeeze(1)
        real = ids[columns]
        where = (real == layout.sep_id).nonzero()
        if len(where) == 0:
            raise ValueError("an encoder-decoder LM needs the separator between source and target")
        cut = int(where[0])
        sources.append([*layout.source_before, *real[:cut].tolist(), *layout.source_after])
        decoders.append([layout.sep_id, *layout.decoder_prompt, *real[cut + 1 :].tolist()])
        slots.append(columns[cut:])
    source, source_mask = _right_pad(sources, layout.pad_id, input_ids.device)
    decoder, decoder_mask = _right_pad(decoders, layout.pad_id, input_ids.device)
    return SplitRows(source, source_mask, decoder, decoder_mask, slots)


def _right_pad(
    rows: list[list[int]], pad_id: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long, device=device)
    mask = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    for b, row in enumerate(rows):
        ids[b, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[b, : len(row)] = 1
    return ids, mask


# --- prefixes inside the attention ----------------------------------------------------------------
LayerPrefix = tuple[torch.Tensor, torch.Tensor]  # (key, value), each (1, H, P, head_dim)


@dataclass
class AttentionPrefix:
    """Per-layer key/value prefixes of an encoder-decoder LM, one list per attention kind (None =
    no prefix there). Each tensor is (1, H, P, head_dim): the prefix is the same for every row and
    is expanded to the rows of each call, so after beam expansion the decoder-side prefixes have
    batch x beams rows while the encoder's, run once before the expansion, have batch rows (R12)."""

    encoder: list[LayerPrefix] | None  # encoder self-attention, one per encoder layer
    decoder: list[LayerPrefix] | None  # decoder self-attention, one per decoder layer
    cross: list[LayerPrefix] | None  # decoder cross-attention, one per decoder layer


def attention_modules(lm: nn.Module) -> dict[str, list[nn.Module]]:
    """The attention modules each `AttentionPrefix` group feeds (BART layout)."""
    try:
        encoder, decoder = lm.get_encoder().layers, lm.get_decoder().layers
        return {
            "encoder": [layer.self_attn for layer in encoder],
            "decoder": [layer.self_attn for layer in decoder],
            "cross": [layer.encoder_attn for layer in decoder],
        }
    except AttributeError as err:
        raise UnsupportedModelError(
            f"cannot find the encoder/decoder attention of {type(lm).__name__} (known: BART)"
        ) from err


def _eager(module, *args, **kwargs):
    from transformers.models.bart.modeling_bart import eager_attention_forward

    return eager_attention_forward(module, *args, **kwargs)


# the model's own attention, called with the prefixed keys; a dict so that tests can spy on it
BASE_ATTENTION: dict[str, Callable] = {"sdpa": ALL_ATTENTION_FUNCTIONS["sdpa"], "eager": _eager}


def _prefixed_attention(base: str) -> Callable:
    def attention(module, query, key, value, attention_mask, **kwargs):
        prefix = getattr(module, "prefix_kv", None)
        if prefix is not None:
            key, value, attention_mask = _prepend(
                prefix, query, key, value, attention_mask, module.is_causal, base == "sdpa"
            )
        return BASE_ATTENTION[base](module, query, key, value, attention_mask, **kwargs)

    return attention


def _prepend(
    prefix: LayerPrefix,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor | None,
    causal: bool,
    boolean: bool,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Keys/values (rows, H, K, Dh) -> (rows, H, P + K, Dh); the mask (b, h, Q, K) gets P visible
    columns in front (R10). sdpa masks are boolean (True = attend), eager masks additive floats."""
    prefix_key, prefix_value = prefix
    rows, length = query.shape[0], prefix_key.shape[2]
    key = torch.cat([prefix_key.to(key.dtype).expand(rows, -1, -1, -1), key], dim=2)
    value = torch.cat([prefix_value.to(value.dtype).expand(rows, -1, -1, -1), value], dim=2)
    q_len, kv_len = query.shape[2], key.shape[2] - length
    if mask is None:
        if not (causal and q_len > 1):
            return key, value, None  # everything is visible, the prefix too
        # transformers left the causal mask out to use sdpa's is_causal flag, which would align the
        # diagonal to the prefix's first column: spell it out, query i sees real keys <= i + past
        causal = torch.ones(q_len, kv_len, dtype=torch.bool, device=query.device)
        mask = causal.tril(kv_len - q_len)[None, None]
        if not boolean:
            mask = torch.zeros(mask.shape, dtype=query.dtype, device=query.device).masked_fill(
                ~mask, torch.finfo(query.dtype).min
            )
    if mask.dtype == torch.bool:
        visible = torch.ones(*mask.shape[:-1], length, dtype=torch.bool, device=mask.device)
    else:
        visible = torch.zeros(*mask.shape[:-1], length, dtype=mask.dtype, device=mask.device)
    return key, value, torch.cat([visible, mask], dim=-1)


@functools.cache
def _register(base: str) -> str:
    name = PREFIX_ATTENTION + base
    AttentionInterface.register(name, _prefixed_attention(base))
    AttentionMaskInterface.register(name, {"sdpa": sdpa_mask, "eager": eager_mask}[base])
    return name


def install_prefix_attention(lm: nn.Module) -> None:
    """Switch `lm` to the prefix-aware twin of its attention (same masks and kernels; a module
    without a `prefix_kv` computes exactly what it did before)."""
    current = lm.config._attn_implementation
    if current.startswith(PREFIX_ATTENTION):
        return
    if current not in BASE_ATTENTION:
        raise UnsupportedModelError(
            f"prefixes for encoder-decoder LMs support the sdpa and eager attentions, not {current!r}"
        )
    lm.set_attn_implementation(_register(current))


@contextmanager
def prefix_active(lm: nn.Module, prefix: AttentionPrefix | None) -> Iterator[None]:
    """Within the block, every attention module of `lm` sees its layer's prefix."""
    if prefix is None:
        yield
        return
    if not lm.config._attn_implementation.startswith(PREFIX_ATTENTION):
        raise RuntimeError("call install_prefix_attention(lm) first, or the prefix is ignored")
    fed = []
    for kind, modules in attention_modules(lm).items():
        layers = getattr(prefix, kind)
        if layers is not None:
            for module, layer in zip(modules, layers, strict=True):
                module.prefix_kv = layer
                fed.append(module)
    try:
        yield
    finally:
        for module in fed:
            del module.prefix_kv


# --- running the model ----------------------------------------------------------------------------
def encode(lm: nn.Module, source: torch.Tensor, source_mask: torch.Tensor) -> torch.Tensor:
    """Encoder states (B, S, d) of right-padded sources (B, S)."""
    return lm.get_encoder()(input_ids=source, attention_mask=source_mask).last_hidden_state


def _decoder_logits(
    lm: nn.Module,
    decoder_ids: torch.Tensor,
    decoder_mask: torch.Tensor | None,
    encoder_hidden: torch.Tensor,
    encoder_mask: torch.Tensor,
    cache: EncoderDecoderCache | None,
) -> torch.Tensor:
    out = lm(
        encoder_outputs=(encoder_hidden,),
        attention_mask=encoder_mask,
        decoder_input_ids=decoder_ids,
        decoder_attention_mask=decoder_mask,
        use_cache=cache is not None,
        **cache_kwargs(lm, cache),
    )
    return out.logits


def forward(
    lm: nn.Module,
    layout: Seq2SeqLayout,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prefix: AttentionPrefix | None,
) -> torch.Tensor:
    """Teacher-forced logits (B, T, vocab) aligned with the caller's (B, T) rows."""
    rows = split_rows(input_ids, attention_mask, layout)
    with prefix_active(lm, prefix):
        hidden = encode(lm, rows.source, rows.source_mask)
        logits = _decoder_logits(
            lm, rows.decoder, rows.decoder_mask, hidden, rows.source_mask, None
        )
    out = logits.new_zeros(*input_ids.shape, logits.shape[-1])
    skip = len(layout.decoder_prompt)  # the logit after the forced prompt predicts the target
    for b, slots in enumerate(rows.slots):
        out[b, slots] = logits[b, skip : skip + len(slots)]
    return out


@dataclass
class Seq2SeqDecodeState:
    """What incremental decoding carries for an encoder-decoder LM (rows = batch x beams)."""

    # self-attention: the real decoder tokens so far; cross-attention: the source's keys/values
    # (rows, H, S, head_dim), computed at prefill and reused (no prefix in either, see the top)
    cache: EncoderDecoderCache
    # (rows, S, d): BART runs cross-attention only when handed the encoder states
    encoder_hidden: torch.Tensor
    encoder_mask: torch.Tensor  # (rows, S)
    prefix: AttentionPrefix | None  # built once at prefill; rows expand at use (R12)

    def repeat_interleave(self, times: int) -> None:
        self.cache.batch_repeat_interleave(times)
        self.encoder_hidden = self.encoder_hidden.repeat_interleave(times, 0)
        self.encoder_mask = self.encoder_mask.repeat_interleave(times, 0)

    def select(self, rows: torch.Tensor, prompts: torch.Tensor | None = None) -> None:
        """New row i continues old row `rows[i]` (`prompts`, which prompts stayed: unused)."""
        self.cache.reorder_cache(rows)
        self.encoder_hidden = self.encoder_hidden[rows]
        self.encoder_mask = self.encoder_mask[rows]


def prefill(
    lm: nn.Module,
    layout: Seq2SeqLayout,
    input_ids: torch.Tensor,
    attention_mask: torch.Tensor,
    prefix: AttentionPrefix | None,
) -> tuple[torch.Tensor, Seq2SeqDecodeState]:
    """Encode left-padded ``[source; sep]`` prompts (B, T) and run the decoder on
    ``[sep; decoder_prompt]``; returns the next-token logits (B, vocab) and the state."""
    rows = split_rows(input_ids, attention_mask, layout)
    if not bool(rows.decoder_mask.all()):
        raise ValueError("decoding prompts must end with the separator")
    cache = EncoderDecoderCache(DynamicCache(), DynamicCache())
    with prefix_active(lm, prefix):
        hidden = encode(lm, rows.source, rows.source_mask)
        logits = _decoder_logits(lm, rows.decoder, None, hidden, rows.source_mask, cache)
    return logits[:, -1], Seq2SeqDecodeState(cache, hidden, rows.source_mask, prefix)


def step(lm: nn.Module, tokens: torch.Tensor, state: Seq2SeqDecodeState) -> torch.Tensor:
    """Feed one decoder token per row (rows,); next-token logits (rows, vocab)."""
    with prefix_active(lm, state.prefix):
        logits = _decoder_logits(
            lm, tokens.view(-1, 1), None, state.encoder_hidden, state.encoder_mask, state.cache
        )
    return logits[:, -1]
