"""Where the transformer blocks, final norm and token embeddings live in each supported family."""

from __future__ import annotations

from torch import nn

from benchmark.errors import UnsupportedModelError


def require_decoder_only(loaded, method: str, why: str) -> None:
    """Refuse an encoder-decoder LM (`loaded` is a `LoadedModel`) with the method's reason."""
    if loaded.family != "decoder":
        raise UnsupportedModelError(
            f"{method} is defined for decoder-only LMs, not {loaded.name} ({loaded.family}): {why}"
        )


def _find(lm: nn.Module, path: str) -> nn.Module | None:
    module = lm
    for part in path.split("."):
        module = getattr(module, part, None)
        if module is None:
            return None
    return module


def transformer_blocks(lm: nn.Module) -> nn.ModuleList:
    """The decoder's block list: GPT-2 `transformer.h`, llama `model.layers`, BART
    `model.decoder.layers` (for an encoder-decoder the "top" blocks are the decoder's)."""
    for path in ("transformer.h", "model.layers", "model.decoder.layers"):
        module = _find(lm, path)
        if isinstance(module, nn.ModuleList):
            return module
    raise UnsupportedModelError(
        f"cannot find the transformer blocks of {type(lm).__name__} (known: GPT-2, llama, BART)"
    )


def encoder_blocks(lm: nn.Module) -> list[nn.Module]:
    """The encoder's block list (BART `model.encoder.layers`); empty for a decoder-only LM."""
    module = _find(lm, "model.encoder.layers")
    return list(module) if isinstance(module, nn.ModuleList) else []


def final_norms(lm: nn.Module) -> list[nn.Module]:
    """The norm after the last (decoder) block: GPT-2 `ln_f`, llama `model.norm`, an mBART-style
    `model.decoder.layer_norm`. BART is post-LN: each block ends in its own LayerNorm and there is
    no final one, so for BART this is [] (the top blocks already hold their norms)."""
    paths = ("transformer.ln_f", "model.norm", "model.decoder.layer_norm")
    norms = [m for m in (_find(lm, path) for path in paths) if m is not None]
    if not norms and not encoder_blocks(lm):
        raise UnsupportedModelError(f"cannot find the final norm of {type(lm).__name__}")
    return norms
