"""Prefix-tuning (Li & Liang 2021, §4): trainable per-layer key/value activations in front of the
input of a frozen LM, reparameterised by an MLP while training and ejected to plain tensors after.

    python -m benchmark run --method prefix --dataset e2e --train-size 50 --scale smoke
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.lm import (
    cache_from_layers,
    flatten_cache,
    hidden_size,
    kv_geometry,
    lm_call,
    positions_from_mask,
    split_flat_prefix,
)
from benchmark.methods import AdaptedLM, MethodSpec
from benchmark.models import LoadedModel
from benchmark.registry import METHODS

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrefixConfig:
    prefix_len: int = 5  # paper Table 6 (ACL) / 5 (v1): E2E prefix length 5
    reparam: str = "mlp"  # "mlp" (paper §4.3) or "flat" (no reparameterisation, the ablation)
    mid_dim: int = 512  # paper ACL fn 4: k = 512 for table-to-text (800 for summarisation)
    init_text: str | None = None  # real-word init, e.g. "table-to-text:" (paper §7.4, low data)
    init_steps: int = 500  # anchor `lowdata_init_train3`: 500 Adam steps of MSE on the MLP
    init_lr: float = 1e-4  # same source
    dropout: float = 0.0  # anchor default `--prefix_dropout 0.0`
    loss_reduction: str = "sequence_sum"  # anchor objective_mode 1: per-sequence token sum (R21)

    def __post_init__(self) -> None:
        if self.reparam not in ("mlp", "flat"):
            raise ValueError(f"reparam must be 'mlp' or 'flat', not {self.reparam!r}")
        if self.prefix_len < 1:
            raise ValueError("prefix_len must be >= 1")
        if self.loss_reduction not in ("sequence_sum", "token_mean"):
            raise ValueError("loss_reduction must be 'sequence_sum' or 'token_mean'")


def fit_mlp(
    mlp: nn.Module, inputs: torch.Tensor, target: torch.Tensor, steps: int, lr: float
) -> float:
    """Fit `mlp(inputs)` to `target` by MSE with Adam (anchor: 500 steps, lr 1e-4); returns the MSE."""
    inputs = inputs.detach()
    optimiser = torch.optim.Adam(mlp.parameters(), lr=lr)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(mlp(inputs), target)
        loss.backward()
        optimiser.step()
    with torch.no_grad():
        return float(torch.nn.functional.mse_loss(mlp(inputs), target))


class PrefixTuned(AdaptedLM):
    """The LM is frozen and stays in eval mode (the anchor never calls train() on GPT-2, R22)."""

    def __init__(self, loaded: LoadedModel, config: PrefixConfig) -> None:
        super().__init__(loaded)
        self.config = config
        self.loss_reduction = config.loss_reduction
        for p in self.lm.parameters():
            p.requires_grad_(False)
        self.geometry = kv_geometry(self.lm.config)
        init_ids = None
        length = config.prefix_len
        if config.init_text:
            # the prefix length becomes the token count of the init text, read with a leading
            # space (" table-to-text:" is 6 GPT-2 tokens, R18)
            init_ids = loaded.tokenizer.encode(" " + config.init_text)
            length = len(init_ids)
        self.prefix_len = length
        d = hidden_size(self.lm.config)
        if config.reparam == "mlp":
            # P'θ: (P, d) -> MLP -> (P, 2*L*n_kv*head_dim)   (anchor: Embedding + control_trans)
            self.embedding = nn.Embedding(length, d)
            self.mlp = nn.Sequential(
                nn.Linear(d, config.mid_dim),
                nn.Tanh(),
                nn.Linear(config.mid_dim, self.geometry.width),
            )
        else:
            # anchor flat variant: one parameter, standard normal init (R15)
            self.flat = nn.Parameter(torch.randn(length, self.geometry.width))
        self.dropout = nn.Dropout(config.dropout)
        self.register_buffer("ejected", None)
        self.init_mse: float | None = None
        if init_ids is not None:
            self._init_from_tokens(init_ids)

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()
        return self

    def prefix_tensor(self) -> torch.Tensor:
        """The prefix as one flat tensor, (P, 2*L*n_kv*head_dim)."""
        if self.ejected is not None:
            return self.ejected
        if self.config.reparam == "mlp":
            flat = self.mlp(self.embedding.weight)
        else:
            flat = self.flat
        return self.dropout(flat)

    def past(self, batch_size: int):
        flat = self.prefix_tensor()
        flat = flat.unsqueeze(0).expand(batch_size, *flat.shape)  # (B, P, width)
        return cache_from_layers(split_flat_prefix(flat, self.geometry))

    @torch.no_grad()
    def _lm_activations(self, token_ids: list[int]) -> torch.Tensor:
        ids = torch.tensor([token_ids])
        mask = torch.ones_like(ids)
        from transformers import DynamicCache

        cache = DynamicCache()
        lm_call(
            self.lm,
            input_ids=ids,
            attention_mask=mask,
            position_ids=positions_from_mask(mask, 0),
            cache=cache,
        )
        return flatten_cache(cache, self.geometry)[0]  # (P, width)

    def _init_from_tokens(self, token_ids: list[int]) -> None:
        target = self._lm_activations(token_ids)
        if self.config.reparam == "flat":
            with torch.no_grad():
                self.flat.copy_(target)  # anchor `init_shallow_word`: copy the activations
            self.init_mse = 0.0
            return
        # anchor `lowdata_init_train3`: regress the MLP output onto the real-word activations;
        # only the MLP is optimised, the (P, d) embedding keeps its random init
        self.init_mse = fit_mlp(
            self.mlp, self.embedding.weight, target, self.config.init_steps, self.config.init_lr
        )
        log.info(
            "prefix init from %r: %d tokens, MSE %.4g",
            self.config.init_text,
            len(token_ids),
            self.init_mse,
        )

    def finalize(self) -> None:
        """Eject: evaluate the MLP once, keep only the (P, width) result; drop the MLP (paper §4.3)."""
        with torch.no_grad():
            was_training = self.training
            self.eval()
            flat = self.prefix_tensor().detach().clone()
            self.train(was_training)
        self.ejected = flat
        for name in ("embedding", "mlp", "flat"):
            if hasattr(self, name):
                delattr(self, name)

    def stored_state(self) -> dict[str, torch.Tensor]:
        if self.ejected is None:
            raise RuntimeError("call finalize() (eject the prefix) before storing it")
        return {"prefix": self.ejected}

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        expected = (self.prefix_len, self.geometry.width)
        if tuple(state["prefix"].shape) != expected:
            raise ValueError(
                f"stored prefix has shape {tuple(state['prefix'].shape)}, expected {expected}"
            )
        self.finalize()
        self.ejected = state["prefix"].clone()

    def method_info(self) -> dict:
        return {
            "prefix_len": self.prefix_len,
            "reparam": self.config.reparam,
            "mid_dim": self.config.mid_dim if self.config.reparam == "mlp" else None,
            "init_text": self.config.init_text,
            "init_mse": self.init_mse,
            "dropout": self.config.dropout,
            "loss_reduction": self.loss_reduction,
            "kv_geometry": f"L={self.geometry.num_layers},kv_heads={self.geometry.num_kv_heads},head_dim={self.geometry.head_dim}",
        }


METHODS.register(
    "prefix",
    MethodSpec(PrefixConfig, PrefixTuned),
    "prefix-tuning: per-layer key/value prefix, MLP reparameterisation ejected after training",
)
