"""Full fine-tuning: every parameter of the LM trains (paper §5.2, FT-FULL / FINE-TUNE)."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.methods.base import AdaptedLM, MethodSpec
from benchmark.models import LoadedModel


@dataclass(frozen=True)
class FinetuneConfig:
    lm_dropout: bool = True  # the LM trains in train mode, as the official fine-tune runs do


class Finetuned(AdaptedLM):
    loss_reduction = "token_mean"  # stock HF cross-entropy in the official fine-tune path (R21)

    def __init__(self, loaded: LoadedModel, config: FinetuneConfig) -> None:
        super().__init__(loaded)
        self.config = config
        for p in self.lm.parameters():
            p.requires_grad_(True)

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.train(mode and self.config.lm_dropout)
        return self

    def method_info(self) -> dict:
        return {"loss_reduction": self.loss_reduction, "lm_dropout": self.config.lm_dropout}


SPEC = MethodSpec(FinetuneConfig, Finetuned)
REGISTER = {"finetune": ("SPEC", "full fine-tuning: all LM parameters train (paper FT-FULL)")}
