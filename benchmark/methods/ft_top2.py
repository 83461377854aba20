"""FT-top2 (paper §5.2): only the top 2 transformer blocks train, plus the final norm and the token
embeddings, which are tied to the LM head (anchor `--tuning_mode finetune-top --top_layers 2`
unfreezes `transformer.h.22/23`, `ln_f` and `wte`: 76.7M = 21.6% of GPT-2 medium, R19).

On BART (no anchor: the paper has no FT-TOP2 row for XSUM) the top blocks are the last two DECODER
blocks, the ones nearest the output as GPT-2's are, with the shared token embedding (tied to the
encoder and decoder inputs and the LM head, as GPT-2's `wte`). BART is post-LN, so there is no
separate final norm to add: each block's closing LayerNorm trains with its block.

    python -m benchmark run --method ft-top2 --dataset e2e --train-size 50 --scale smoke
"""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.methods.base import MethodSpec
from benchmark.methods.blocks import final_norms, transformer_blocks
from benchmark.methods.finetune import Finetuned
from benchmark.models import LoadedModel


@dataclass(frozen=True)
class TopLayersConfig:
    top_layers: int = 2  # paper §5.2 FT-TOP2
    train_embeddings: bool = True  # anchor top_layers=2 also trains the tied wte (R19)
    lm_dropout: bool = True  # the fine-tune paths run the LM in train mode

    def __post_init__(self) -> None:
        if self.top_layers < 1:
            raise ValueError("top_layers must be >= 1")


class TopLayersTuned(Finetuned):
    """Fine-tuning (same loss and LM train mode) with everything below the top blocks frozen."""

    def __init__(self, loaded: LoadedModel, config: TopLayersConfig) -> None:
        super().__init__(loaded, config)
        blocks = transformer_blocks(self.lm)
        if config.top_layers > len(blocks):
            raise ValueError(
                f"top_layers={config.top_layers} but the model has {len(blocks)} blocks"
            )
        for p in self.lm.parameters():
            p.requires_grad_(False)
        trained = list(blocks[-config.top_layers :]) + final_norms(self.lm)
        if config.train_embeddings:
            trained.append(self.lm.get_input_embeddings())
        for module in trained:
            for p in module.parameters():
                p.requires_grad_(True)

    def method_info(self) -> dict:
        return {**super().method_info(), "top_blocks": self.config.top_layers}


SPEC = MethodSpec(TopLayersConfig, TopLayersTuned)
REGISTER = {
    "ft-top2": (
        "SPEC",
        "fine-tune only the top 2 blocks + final norm + (tied) token embeddings (paper FT-TOP2)",
    )
}
