"""Parameter budgets: what each method trains and stores, as counts and % of the LM (paper §5.2,
ACL fn 7). Counting needs no weights, so hub models are built from their configs on the meta device.

    python -m benchmark params --model gpt2-medium
"""

from __future__ import annotations

from typing import Any

import torch

from benchmark import paper
from benchmark.errors import UnsupportedModelError
from benchmark.methods import METHODS
from benchmark.methods.base import count_parameters
from benchmark.models import ByteTokenizer, LoadedModel, load_model

# GPT-2 architecture facts (Radford et al. 2019; the HF configs), for counting without a download
GPT2_SHAPES = {
    "gpt2": dict(n_layer=12, n_embd=768, n_head=12),
    "gpt2-medium": dict(n_layer=24, n_embd=1024, n_head=16),
    "gpt2-large": dict(n_layer=36, n_embd=1280, n_head=20),
}


def shape_only(name: str) -> LoadedModel:
    """A hub model with the right architecture and no weights (meta device)."""
    from transformers import BartConfig, BartForConditionalGeneration, GPT2Config, GPT2LMHeadModel

    if name == "bart-large":  # facebook/bart-large's config
        config = BartConfig(
            vocab_size=50265,
            d_model=1024,
            encoder_layers=12,
            decoder_layers=12,
            encoder_attention_heads=16,
            decoder_attention_heads=16,
            encoder_ffn_dim=4096,
            decoder_ffn_dim=4096,
            max_position_embeddings=1024,
        )
        with torch.device("meta"):
            model = BartForConditionalGeneration(config)
        return LoadedModel(name, model, ByteTokenizer(), 2, 2, 1, provenance="shape only")
    config = GPT2Config(vocab_size=50257, n_positions=1024, **GPT2_SHAPES[name])
    with torch.device("meta"):
        model = GPT2LMHeadModel(config)
    return LoadedModel(name, model, ByteTokenizer(), 50256, 50256, 50256, provenance="shape only")


def budget_rows(family: str) -> list[tuple[str, str, dict[str, Any], bool]]:
    """(label, method, options, in the paper): the paper's rows for this model family, then every
    registered method the paper has no row for, at its default options."""
    rows = paper.SEQ2SEQ_BUDGET_ROWS if family == "encoder-decoder" else paper.BUDGET_ROWS
    listed = [(label, method, options, True) for label, (method, options) in rows.items()]
    in_paper = {method for method, _ in paper.ROWS.values()}
    extra = [(name, name, {}, False) for name in METHODS.names() if name not in in_paper]
    return listed + extra


def parameter_table(model: str) -> list[dict[str, Any]]:
    """One row per method variant (`budget_rows`) that the model's family supports."""
    rows = []
    shape = model in GPT2_SHAPES or model == "bart-large"
    probe = shape_only(model) if shape else load_model(model)
    for label, method, options, from_paper in budget_rows(probe.family):
        loaded = shape_only(model) if shape else load_model(model)
        spec = METHODS.get(method)
        torch.manual_seed(0)
        try:
            adapted = spec.build(loaded, spec.make_config(options))
        except UnsupportedModelError:
            if from_paper:  # a paper row must build; a method outside the paper may refuse
                raise
            continue
        lm = loaded.num_parameters
        trainable = count_parameters(adapted.trainable_parameters())
        adapted.finalize()
        stored = count_parameters(adapted.stored_state().values())
        rows.append(
            {
                "variant": label,
                "method": method,
                "lm_params": lm,
                "trainable_params": trainable,
                "trainable_pct": 100 * trainable / lm,
                "stored_params": stored,
                "stored_pct": 100 * stored / lm,
                **adapted.method_info(),
            }
        )
    return rows
