"""Bottleneck adapters (Lin et al. 2020, the paper's ADAPTER baseline; ACL fn 5): one adapter per
block on the block output, after the feed-forward residual: LayerNorm -> Linear(d, b) -> ReLU ->
Linear(b, d), plus a residual (anchor `adapter_design 1`). The bottleneck b is chosen from a target
share of the LM's parameters (the paper's "3%" and "0.1%"; it does not print b, setup.md §3).
On BART (no anchor: the paper has no adapter row for XSUM) every encoder and every decoder block
gets one, and the budget is shared over all of them.

    python -m benchmark run --method adapter --set adapter_pct=0.1 --train-size 50 --scale smoke
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from benchmark.lm import hidden_size
from benchmark.methods.base import AdaptedLM, MethodSpec
from benchmark.methods.blocks import encoder_blocks, transformer_blocks
from benchmark.models import LoadedModel


@dataclass(frozen=True)
class AdapterConfig:
    adapter_pct: float = 3.0  # paper Table 2 (ACL) rows ADAPTER(3%) and ADAPTER(0.1%)
    bottleneck: int | None = None  # set directly to override adapter_pct

    def __post_init__(self) -> None:
        if self.adapter_pct <= 0 and self.bottleneck is None:
            raise ValueError("adapter_pct must be > 0")


def adapter_params_per_layer(d: int, b: int) -> int:
    """LayerNorm (2d) + down (d*b + b) + up (b*d + d)."""
    return 2 * d * b + b + 3 * d


def bottleneck_for_budget(pct: float, lm_params: int, num_layers: int, d: int) -> int:
    """The b whose adapters come closest to `pct` % of the LM (GPT-2 medium: 3% -> 215, 0.1% -> 6)."""
    per_layer = pct / 100 * lm_params / num_layers
    return max(1, round((per_layer - 3 * d) / (2 * d + 1)))


class Adapter(nn.Module):
    """(…, d) -> (…, d): x + up(relu(down(norm(x))))."""

    def __init__(self, d: int, b: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.down = nn.Linear(d, b)
        self.up = nn.Linear(b, d)
        # the up projection starts at zero so training starts from the pretrained LM's function
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.up(torch.relu(self.down(self.norm(x))))


class AdapterTuned(AdaptedLM):
    loss_reduction = "token_mean"  # the anchor's adapter model uses the stock loss (R21)

    def __init__(self, loaded: LoadedModel, config: AdapterConfig) -> None:
        super().__init__(loaded)
        self.config = config
        for p in self.lm.parameters():
            p.requires_grad_(False)
        blocks = encoder_blocks(self.lm) + list(transformer_blocks(self.lm))
        d = hidden_size(self.lm.config)
        self.bottleneck = config.bottleneck or bottleneck_for_budget(
            config.adapter_pct, loaded.num_parameters, len(blocks), d
        )
        self.adapters = nn.ModuleList(Adapter(d, self.bottleneck) for _ in blocks)
        for block, adapter in zip(blocks, self.adapters):
            block.register_forward_hook(_apply_adapter(adapter))

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()  # only the adapters train; the frozen LM's dropout stays off
        self.adapters.train(mode)
        return self

    def method_info(self) -> dict:
        return {"bottleneck": self.bottleneck, "loss_reduction": self.loss_reduction}


def _apply_adapter(adapter: Adapter):
    def hook(module, inputs, output):
        if isinstance(output, tuple):  # some block versions return (hidden, extras...)
            return (adapter(output[0]), *output[1:])
        return adapter(output)

    return hook


SPEC = MethodSpec(AdapterConfig, AdapterTuned)
REGISTER = {
    "adapter": (
        "SPEC",
        "bottleneck adapter after each block (Lin et al. 2020), sized by --set adapter_pct=3|0.1",
    )
}
