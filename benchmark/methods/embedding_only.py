"""Embedding-only (EMB-k, paper §7.2): k trainable vectors at the input embedding layer only; the
frozen LM turns them into the per-layer keys/values that act as the prefix, and gradients reach the
vectors through the frozen LM (anchor `PrefixEmbTuning`, R16). By default the k vectors come from an
MLP d -> mid -> d over a (k, d) table (anchor `parametrize_emb='MLP'`); `reparam=flat` trains them raw.

Decoder-only LMs only: on an encoder-decoder LM "k input embeddings whose activations are the
prefix" has no single reading (encoder input = prompt tuning, a different method; decoder input =
shifted decoder positions), and the paper defines EMB-k on GPT-2 table-to-text only (§7.2).

    python -m benchmark run --method embedding-only --set prefix_len=10 --train-size 50 --scale smoke
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.lm import hidden_size, run_into_cache
from benchmark.methods.base import AdaptedLM, Anchor, MethodSpec
from benchmark.methods.blocks import require_decoder_only
from benchmark.methods.reparam import fit_mlp, reparam_mlp
from benchmark.models import LoadedModel


@dataclass(frozen=True)
class EmbeddingOnlyConfig:
    prefix_len: int = 10  # paper ACL Table 5 reports EMB-1, EMB-10, EMB-20
    reparam: str = "mlp"  # anchor default parametrize_emb='MLP'; "flat" = raw embeddings
    mid_dim: int = 512  # as prefix-tuning's table-to-text k (ACL fn 4)
    init_text: str | None = None  # start from the token embeddings of a real phrase
    init_steps: int = 500
    init_lr: float = 1e-4
    loss_reduction: str = "sequence_sum"  # the prefix-family objective of the anchor (R21)

    def __post_init__(self) -> None:
        if self.reparam not in ("mlp", "flat") or self.prefix_len < 1:
            raise ValueError("reparam must be 'mlp' or 'flat' and prefix_len >= 1")


class EmbeddingOnly(AdaptedLM):
    def __init__(self, loaded: LoadedModel, config: EmbeddingOnlyConfig) -> None:
        require_decoder_only(
            loaded,
            "embedding-only",
            "the paper defines EMB-k on GPT-2 only (§7.2); on an encoder it would be prompt "
            "tuning, a different method",
        )
        super().__init__(loaded)
        self.config = config
        self.loss_reduction = config.loss_reduction
        for p in self.lm.parameters():
            p.requires_grad_(False)
        d = hidden_size(self.lm.config)
        init_ids = loaded.tokenizer.encode(" " + config.init_text) if config.init_text else None
        self.prefix_len = len(init_ids) if init_ids else config.prefix_len
        table = self.lm.get_input_embeddings().weight
        if config.reparam == "mlp":
            self.embedding = nn.Embedding(self.prefix_len, d)
            self.mlp = reparam_mlp(d, config.mid_dim, d)
        else:
            # random real-token embeddings keep the input in the range the LM was trained on
            rows = torch.randint(0, table.shape[0], (self.prefix_len,))
            self.flat = nn.Parameter(table[rows].detach().clone())
        self.register_buffer("ejected", None)
        if init_ids:
            target = table[torch.tensor(init_ids)].detach()
            if config.reparam == "mlp":
                fit_mlp(self.mlp, self.embedding.weight, target, config.init_steps, config.init_lr)
            else:
                with torch.no_grad():
                    self.flat.copy_(target)

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()
        return self

    def vectors(self) -> torch.Tensor:
        """The k input vectors, (P, d)."""
        if self.ejected is not None:
            return self.ejected
        return self.mlp(self.embedding.weight) if self.config.reparam == "mlp" else self.flat

    def prefix_layers(self):
        """The frozen LM run once over the k vectors: its keys and values are the prefix."""
        mask = torch.ones(1, self.prefix_len, dtype=torch.long)
        cache = run_into_cache(self.lm, mask, inputs_embeds=self.vectors().unsqueeze(0))
        return [(layer.keys, layer.values) for layer in cache.layers]

    def finalize(self) -> None:
        with torch.no_grad():
            self.ejected = self.vectors().detach().clone()
        for name in ("embedding", "mlp", "flat"):
            if hasattr(self, name):
                delattr(self, name)

    def stored_state(self) -> dict[str, torch.Tensor]:
        if self.ejected is None:
            raise RuntimeError("call finalize() before storing")
        return {"embeddings": self.ejected}

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        self.finalize()
        if tuple(state["embeddings"].shape) != tuple(self.ejected.shape):
            raise ValueError(f"stored embeddings are not {tuple(self.ejected.shape)}")
        self.ejected = state["embeddings"].clone()

    def method_info(self) -> dict:
        return {
            "prefix_len": self.prefix_len,
            "reparam": self.config.reparam,
            "init_text": self.config.init_text,
            "loss_reduction": self.loss_reduction,
        }


def peft_prompt_anchor(
    loaded: LoadedModel, config: EmbeddingOnlyConfig, adapted: AdaptedLM
) -> Anchor:
    """PEFT's prompt tuning with as many virtual tokens: k trainable input embeddings in front
    of every row (PEFT has no MLP reparameterisation for it; the LM work is the same)."""
    import peft

    model = peft.get_peft_model(
        copy.deepcopy(loaded.model),
        peft.PromptTuningConfig(task_type="CAUSAL_LM", num_virtual_tokens=adapted.prefix_len),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    return Anchor(f"PEFT prompt tuning (k={adapted.prefix_len})", model, params)


SPEC = MethodSpec(EmbeddingOnlyConfig, EmbeddingOnly, anchor=peft_prompt_anchor)
REGISTER = {
    "embedding-only": (
        "SPEC",
        "EMB-k: k trainable input embeddings only, run through the frozen LM (paper §7.2)",
    )
}
