"""Where the transformer blocks, final norm and token embeddings live in each supported family."""

from __future__ import annotations

from torch import nn


class UnsupportedModelError(ValueError):
    """A method cannot be applied to this model family; the message says why."""


def transformer_blocks(lm: nn.Module) -> nn.ModuleList:
    """The decoder's block list: GPT-2 `transformer.h`, llama `model.layers`."""
    for path in ("transformer.h", "model.layers"):
        module = lm
        try:
            for part in path.split("."):
                module = getattr(module, part)
        except AttributeError:
            continue
        if isinstance(module, nn.ModuleList):
            return module
    raise UnsupportedModelError(
        f"cannot find the transformer blocks of {type(lm).__name__} (known: GPT-2, llama)"
    )


def final_norm(lm: nn.Module) -> nn.Module:
    for path in ("transformer.ln_f", "model.norm"):
        module = lm
        try:
            for part in path.split("."):
                module = getattr(module, part)
            return module
        except AttributeError:
            continue
    raise UnsupportedModelError(f"cannot find the final norm of {type(lm).__name__}")
