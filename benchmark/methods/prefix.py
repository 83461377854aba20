"""Prefix-tuning (Li & Liang 2021, §4): trainable per-layer key/value activations in front of the
input of a frozen LM, reparameterised by an MLP while training and ejected to plain tensors after.

Decoder-only LMs (`PrefixTuned`): one prefix, fed through the key/value cache, positions shifted by
P as in the paper's GPT-2 (R8). Encoder-decoder LMs (`Seq2SeqPrefixTuned`, BART): three independent
prefixes, for the encoder self-attention, the decoder self-attention and the decoder
cross-attention, each with its own embedding and MLP (anchor `seq2seq/prefixTuning.py`, A.6, R11),
put in front of the keys/values inside the attention (benchmark/methods/seq2seq.py), so BART's positions
are not shifted (R9).

    python -m benchmark run --method prefix --dataset e2e --train-size 50 --scale smoke
"""

from __future__ import annotations

import copy
import logging
from dataclasses import dataclass

import torch
from torch import nn

from benchmark.lm import (
    KVGeometry,
    flatten_cache,
    flatten_key_values,
    hidden_size,
    kv_geometry,
    run_into_cache,
    split_flat_prefix,
)
from benchmark.methods import seq2seq
from benchmark.methods.base import AdaptedLM, Anchor, MethodSpec
from benchmark.methods.reparam import init_from_target, reparam_mlp
from benchmark.models import LoadedModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PrefixConfig:
    prefix_len: int = 5  # paper Table 6 (ACL) / 5 (v1): E2E prefix length 5
    reparam: str = "mlp"  # "mlp" (paper §4.3) or "flat" (no reparameterisation, the ablation)
    # None = per family, which in the paper is per task: ACL fn 4, k = 512 for table-to-text
    # (GPT-2), 800 for summarisation (BART; the anchor README's XSUM command, --mid_dim 800)
    mid_dim: int | None = None
    init_text: str | None = None  # real-word init, e.g. "table-to-text:" (paper §7.4, low data)
    init_steps: int = 500  # anchor `lowdata_init_train3`: 500 Adam steps of MSE on the MLP
    init_lr: float = 1e-4  # same source
    dropout: float = 0.0  # anchor default `--prefix_dropout 0.0`
    # None = the anchor's per family: GPT-2 objective_mode 1, per-sequence token sum (R21); BART
    # finetune.py `_step`, token-mean cross-entropy (A.6)
    loss_reduction: str | None = None
    # the frozen LM's dropout while training; None = the anchor's per family: off for GPT-2 (it
    # never calls train() on it), on for BART (Lightning puts the whole module in train mode), R22
    lm_dropout: bool | None = None

    def __post_init__(self) -> None:
        if self.reparam not in ("mlp", "flat"):
            raise ValueError(f"reparam must be 'mlp' or 'flat', not {self.reparam!r}")
        if self.prefix_len < 1:
            raise ValueError("prefix_len must be >= 1")
        if self.loss_reduction not in (None, "sequence_sum", "token_mean"):
            raise ValueError("loss_reduction must be 'sequence_sum' or 'token_mean'")
        if self.mid_dim is not None and self.mid_dim < 1:
            raise ValueError("mid_dim must be >= 1")


class PrefixTuned(AdaptedLM):
    """Decoder-only LMs. The LM is frozen and by default stays in eval mode (the anchor never
    calls train() on GPT-2, R22)."""

    def __init__(self, loaded: LoadedModel, config: PrefixConfig) -> None:
        super().__init__(loaded)
        self.config = config
        self.loss_reduction = config.loss_reduction or "sequence_sum"
        self.lm_dropout = bool(config.lm_dropout)
        self.mid_dim = config.mid_dim or 512
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
            self.mlp = reparam_mlp(d, self.mid_dim, self.geometry.width)
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
        self.lm.train(mode and self.lm_dropout)
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

    def prefix_layers(self):
        return split_flat_prefix(self.prefix_tensor().unsqueeze(0), self.geometry)

    @torch.no_grad()
    def _lm_activations(self, token_ids: list[int]) -> torch.Tensor:
        ids = torch.tensor([token_ids])
        cache = run_into_cache(self.lm, torch.ones_like(ids), input_ids=ids)
        return flatten_cache(cache, self.geometry)[0]  # (P, width)

    def _init_from_tokens(self, token_ids: list[int]) -> None:
        target = self._lm_activations(token_ids)
        self.init_mse = init_from_target(self, target, self.config.init_steps, self.config.init_lr)
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
            "mid_dim": self.mid_dim if self.config.reparam == "mlp" else None,
            "init_text": self.config.init_text,
            "init_mse": self.init_mse,
            "dropout": self.config.dropout,
            "loss_reduction": self.loss_reduction,
            "lm_dropout": self.lm_dropout,
            "kv_geometry": f"L={self.geometry.num_layers},kv_heads={self.geometry.num_kv_heads},head_dim={self.geometry.head_dim}",
        }


class PrefixGroup(nn.Module):
    """One independently parameterised prefix. Training: Embedding(P, d) -> Linear(d, mid) -> Tanh
    -> Linear(mid, width) (anchor `wte` + `control_trans`), or one flat (P, width) parameter drawn
    from N(0, 1) (R15). `eject` keeps only the (P, width) result. width = 2 * L * H * head_dim."""

    def __init__(
        self, length: int, d: int, geometry: KVGeometry, reparam: str, mid_dim: int
    ) -> None:
        super().__init__()
        self.geometry = geometry
        if reparam == "mlp":
            self.embedding = nn.Embedding(length, d)
            self.mlp = reparam_mlp(d, mid_dim, geometry.width)
        else:
            self.flat = nn.Parameter(torch.randn(length, geometry.width))
        self.register_buffer("ejected", None)

    def forward(self) -> torch.Tensor:
        """The flat prefix, (P, width)."""
        if self.ejected is not None:
            return self.ejected
        if hasattr(self, "mlp"):
            return self.mlp(self.embedding.weight)
        return self.flat

    def eject(self) -> None:
        with torch.no_grad():
            self.ejected = self().detach().clone()
        for name in ("embedding", "mlp", "flat"):
            if hasattr(self, name):
                delattr(self, name)


def _stack_geometry(config, stack: str) -> KVGeometry:
    """Key/value layout of BART's "encoder" or "decoder" stack (the anchor reads the decoder's for
    all three groups; BART-large's stacks are the same: L=12, H=16, head_dim=64)."""
    heads = getattr(config, f"{stack}_attention_heads")
    return KVGeometry(getattr(config, f"{stack}_layers"), heads, config.d_model // heads)


class Seq2SeqPrefixTuned(AdaptedLM):
    """Encoder-decoder LMs (BART): three prefix groups, `encoder` (encoder self-attention, anchor
    `wte_enc`/`control_trans_enc`), `decoder` (decoder self-attention, `wte`/`control_trans`) and
    `cross` (decoder cross-attention, `wte2`/`control_trans2`), each P positions over its stack's
    layers (A.6, R11). The frozen LM's dropout is on while training by default (anchor, R22)."""

    GROUPS = ("encoder", "decoder", "cross")

    def __init__(self, loaded: LoadedModel, config: PrefixConfig) -> None:
        super().__init__(loaded)
        self.config = config
        self.loss_reduction = config.loss_reduction or "token_mean"
        self.lm_dropout = True if config.lm_dropout is None else config.lm_dropout
        self.mid_dim = config.mid_dim or 800
        init_ids = None
        self.prefix_len = config.prefix_len
        if config.init_text:  # P = the token count of the words, read with a leading space (R18)
            init_ids = loaded.tokenizer.encode(" " + config.init_text)
            self.prefix_len = len(init_ids)
        self.init_mse: float | None = None
        for p in self.lm.parameters():
            p.requires_grad_(False)
        seq2seq.install_prefix_attention(self.lm)
        d = hidden_size(self.lm.config)
        encoder, decoder = (_stack_geometry(self.lm.config, s) for s in ("encoder", "decoder"))
        # cross-attention keys/values live in the decoder's layers and heads
        geometry = {"encoder": encoder, "decoder": decoder, "cross": decoder}
        self.groups = nn.ModuleDict(
            {
                name: PrefixGroup(self.prefix_len, d, geometry[name], config.reparam, self.mid_dim)
                for name in self.GROUPS
            }
        )
        self.dropout = nn.Dropout(config.dropout)
        if init_ids is not None:
            targets = self._lm_activations(init_ids)
            self.init_mse = max(
                init_from_target(group, targets[name], config.init_steps, config.init_lr)
                for name, group in self.groups.items()
            )
            log.info("prefix init from %r: %d tokens, worst group MSE %.4g",
                     config.init_text, len(init_ids), self.init_mse)  # fmt: skip

    @torch.no_grad()
    def _lm_activations(self, token_ids: list[int]) -> dict[str, torch.Tensor]:
        """Each group's real-word target, (P, width): the frozen BART run with the words as both
        the source and the target; `encoder` = the encoder self-attention key/values of the
        words, `decoder` = the decoder self-attention ones, `cross` = the cross-attention
        key/values of the words' encoding. The anchor's BART init was written for GPT-2's cache
        and is not recoverable from its code (implementation notes A.5); this is our reading of
        the same idea for three groups."""
        captured: dict[tuple[str, int, str], torch.Tensor] = {}
        hooks = []
        for kind, modules in seq2seq.attention_modules(self.lm).items():
            for layer, module in enumerate(modules):
                for part in ("k_proj", "v_proj"):
                    key = (kind, layer, part)
                    hook = getattr(module, part).register_forward_hook(
                        lambda _m, _i, out, key=key: captured.__setitem__(key, out)
                    )
                    hooks.append(hook)
        was_training = self.lm.training
        self.lm.eval()
        ids = torch.tensor([token_ids])
        try:
            self.lm(input_ids=ids, decoder_input_ids=ids, use_cache=False)
        finally:
            for hook in hooks:
                hook.remove()
            self.lm.train(was_training)
        targets = {}
        for name, group in self.groups.items():
            g = group.geometry
            layers = [
                tuple(
                    captured[(name, layer, part)]
                    .view(1, -1, g.num_kv_heads, g.head_dim)
                    .transpose(1, 2)  # (1, H, P, head_dim)
                    for part in ("k_proj", "v_proj")
                )
                for layer in range(g.num_layers)
            ]
            targets[name] = flatten_key_values(layers, g)[0]
        return targets

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.train(mode and self.lm_dropout)
        return self

    def attention_prefix(self) -> seq2seq.AttentionPrefix:
        """Per group, L layers of (key, value), each (1, H, P, head_dim) (anchor layout, R2)."""
        layers = {}
        for name, group in self.groups.items():
            flat = self.dropout(group()).unsqueeze(0)  # (1, P, width)
            layers[name] = split_flat_prefix(flat, group.geometry)
        return seq2seq.AttentionPrefix(**layers)

    def finalize(self) -> None:
        """Eject each group's MLP (paper §4.3): keep only its (P, width) output."""
        for group in self.groups.values():
            group.eject()

    def stored_state(self) -> dict[str, torch.Tensor]:
        if any(group.ejected is None for group in self.groups.values()):
            raise RuntimeError("call finalize() (eject the prefixes) before storing them")
        return {f"{name}_prefix": group.ejected for name, group in self.groups.items()}

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        self.finalize()
        for name, group in self.groups.items():
            expected = (self.prefix_len, group.geometry.width)
            if tuple(state[f"{name}_prefix"].shape) != expected:
                raise ValueError(f"stored {name} prefix is not {expected}")
            group.ejected = state[f"{name}_prefix"].clone()

    def method_info(self) -> dict:
        g = self.groups["encoder"].geometry, self.groups["decoder"].geometry
        return {
            "prefix_len": self.prefix_len,
            "prefix_groups": ",".join(self.GROUPS),
            "reparam": self.config.reparam,
            "mid_dim": self.mid_dim if self.config.reparam == "mlp" else None,
            "dropout": self.config.dropout,
            "loss_reduction": self.loss_reduction,
            "lm_dropout": self.lm_dropout,
            "init_text": self.config.init_text,
            "init_mse": self.init_mse,
            "positions": "not shifted by P (anchor BART, R9)",
            "kv_geometry": f"encoder L={g[0].num_layers},heads={g[0].num_kv_heads},"
            f"head_dim={g[0].head_dim}; decoder L={g[1].num_layers},heads={g[1].num_kv_heads},"
            f"head_dim={g[1].head_dim}",
        }


def build_prefix(loaded: LoadedModel, config: PrefixConfig) -> AdaptedLM:
    """The family's prefix-tuning: one cache prefix (decoder-only) or three groups (BART)."""
    if loaded.family == "encoder-decoder":
        return Seq2SeqPrefixTuned(loaded, config)
    return PrefixTuned(loaded, config)


def peft_prefix_anchor(loaded: LoadedModel, config: PrefixConfig, adapted: AdaptedLM) -> Anchor:
    """PEFT's `PrefixTuning` with the same prefix length and MLP width (its `prefix_projection`)
    on a copy of the frozen LM."""
    import peft

    mid = getattr(adapted, "mid_dim", None) or 512
    model = peft.get_peft_model(
        copy.deepcopy(loaded.model),
        peft.PrefixTuningConfig(
            task_type="CAUSAL_LM",
            num_virtual_tokens=adapted.prefix_len,
            prefix_projection=config.reparam == "mlp",
            encoder_hidden_size=mid,
        ),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    return Anchor(f"PEFT PrefixTuning (P={adapted.prefix_len}, projection {mid})", model, params)


SPEC = MethodSpec(PrefixConfig, build_prefix, anchor=peft_prefix_anchor)
REGISTER = {
    "prefix": (
        "SPEC",
        "prefix-tuning: per-layer key/value prefix, MLP reparameterisation ejected after training",
    )
}
