"""LoRA (Hu et al. 2021): the LM is frozen and each targeted projection W (out x in) gains a trainable
low-rank update, W x + B A x * alpha/rank, with A (rank x in) and B (out x rank). B starts at zero,
so training starts from the pretrained LM's function. After training B A * alpha/rank is merged
into W, so decoding costs what the bare LM costs; only A and B are stored.

The defaults are PEFT's (0.21.2): rank 8, alpha 8, no dropout, on the attention projections of
each family. On BART the query/value projections of the encoder self-, decoder self- and
cross-attention all get one, as in PEFT.

    python -m benchmark run --method lora --train-size 50 --scale smoke
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from benchmark.errors import UnsupportedModelError
from benchmark.methods.base import AdaptedLM, Anchor, MethodSpec
from benchmark.models import LoadedModel

# PEFT `TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING` (peft/utils/constants.py), by model_type
DEFAULT_TARGETS = {
    "gpt2": ("c_attn",),  # the fused query/key/value Conv1D, (in, out) = (d, 3d)
    "llama": ("q_proj", "v_proj"),  # also SmolLM2; with GQA the two have different out sizes
    "bart": ("q_proj", "v_proj"),  # encoder, decoder and cross-attention alike
}


@dataclass(frozen=True)
class LoraConfig:
    rank: int = 8  # PEFT LoraConfig default r=8
    alpha: int = 8  # PEFT default lora_alpha=8, so the scaling alpha/rank is 1
    dropout: float = 0.0  # PEFT default lora_dropout=0.0
    # module-name suffixes to adapt (PEFT's list semantics: the name or its last parts);
    # None = the family's PEFT default, DEFAULT_TARGETS
    target_modules: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if isinstance(self.target_modules, (str, list)):  # --set target_modules=q_proj,v_proj
            names = self.target_modules
            names = names.split(",") if isinstance(names, str) else names
            object.__setattr__(self, "target_modules", tuple(names))
        if not isinstance(self.rank, int) or self.rank < 1:
            raise ValueError(f"rank must be an integer >= 1, not {self.rank!r}")
        if not self.alpha > 0:
            raise ValueError(f"alpha must be > 0, not {self.alpha!r}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), not {self.dropout!r}")
        if self.target_modules is not None and not self.target_modules:
            raise ValueError("target_modules must name at least one module (or be None)")


class LowRank(nn.Module):
    """The update of one projection: (…, in) -> (…, out), dropout(x) @ A^T @ B^T * scaling, with
    A (rank, in) drawn as nn.Linear draws its weight (kaiming-uniform, a=sqrt(5); PEFT and the
    LoRA reference code alike) and B (out, rank) zero."""

    def __init__(self, base: nn.Module, rank: int, scaling: float, dropout: float) -> None:
        super().__init__()
        weight = base.weight
        self.transposed = isinstance(base, Conv1D)  # GPT-2 stores (in, out): PEFT fan_in_fan_out
        out_features, in_features = weight.shape[::-1] if self.transposed else weight.shape
        factory = {"device": weight.device, "dtype": weight.dtype}
        self.A = nn.Parameter(torch.empty(rank, in_features, **factory))
        self.B = nn.Parameter(torch.zeros(out_features, rank, **factory))
        nn.init.kaiming_uniform_(self.A, a=math.sqrt(5))
        self.scaling = scaling
        # p = 0 (the default) is no dropout: no mask drawn, no multiply over the activations
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def add_to(self, output: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """output + dropout(x) A^T B^T * scaling in one fused multiply-add: the low-rank update
        added to the base projection's output (no separate scale and add over (tokens, out))."""
        low = (self.dropout(x) @ self.A.T).reshape(-1, self.A.shape[0])
        flat = output.reshape(-1, output.shape[-1])
        return torch.addmm(flat, low, self.B.T, alpha=self.scaling).view(output.shape)

    def delta(self) -> torch.Tensor:
        """B A * scaling laid out as the base weight: (out, in), or (in, out) for a Conv1D."""
        delta = self.B @ self.A * self.scaling
        return delta.T if self.transposed else delta


class LoraTuned(AdaptedLM):
    """The LM frozen (and in eval mode), each targeted module with a `LowRank` whose output a
    forward hook adds to the module's, so the LM keeps its own modules and parameter names.
    A deep copy of the hooked LM carries the update along: copy it before building."""

    loss_reduction = "token_mean"  # the stock HF loss, what a PEFT LoRA run trains with

    def __init__(self, loaded: LoadedModel, config: LoraConfig) -> None:
        super().__init__(loaded)
        self.config = config
        model_type = self.lm.config.model_type
        self.target_modules = config.target_modules or DEFAULT_TARGETS.get(model_type)
        if self.target_modules is None:
            raise UnsupportedModelError(
                f"LoRA has no default target modules for {loaded.name} ({model_type}); known: "
                f"{sorted(DEFAULT_TARGETS)}, or name them with --set target_modules=..."
            )
        for p in self.lm.parameters():
            p.requires_grad_(False)
        self.scaling = config.alpha / config.rank  # PEFT without rslora
        # paths in the LM, kept apart from the factors so the LM's own names stay as they are
        self.paths: list[str] = []
        self.factors = nn.ModuleList()
        self._hooks = []
        for path, module in self.lm.named_modules():
            if not any(path == t or path.endswith("." + t) for t in self.target_modules):
                continue
            if not isinstance(module, (nn.Linear, Conv1D)):
                raise UnsupportedModelError(
                    f"LoRA adapts nn.Linear or GPT-2 Conv1D layers; {path} is a {type(module).__name__}"
                )
            factor = LowRank(module, config.rank, self.scaling, config.dropout)
            self.paths.append(path)
            self.factors.append(factor)
            self._hooks.append(module.register_forward_hook(_add_update(factor)))
        if not self.paths:
            raise UnsupportedModelError(
                f"no module of {loaded.name} matches LoRA target_modules {list(self.target_modules)}"
            )
        self.merged = False

    def train(self, mode: bool = True):
        super().train(mode)
        self.lm.eval()  # only the factors train; the frozen LM's dropout stays off, LoRA's follows
        return self

    def finalize(self) -> None:
        """Merge W += B A * scaling into every targeted weight and drop the hooks, so the LM
        decodes on its own. The factors stay (they are what is stored) but no longer train."""
        if self.merged:
            return
        modules = dict(self.lm.named_modules())
        with torch.no_grad():
            for path, factor in zip(self.paths, self.factors):
                modules[path].weight.add_(factor.delta())
                factor.requires_grad_(False)
        for hook in self._hooks:
            hook.remove()
        self._hooks.clear()
        self.merged = True

    def stored_state(self) -> dict[str, torch.Tensor]:
        """`lora.<module path>.A` (rank, in) and `.B` (out, rank) for each targeted module."""
        state = {}
        for path, factor in zip(self.paths, self.factors):
            state[f"lora.{path}.A"] = factor.A.detach()
            state[f"lora.{path}.B"] = factor.B.detach()
        return state

    def load_stored_state(self, state: dict[str, torch.Tensor]) -> None:
        """Put the stored factors into a fresh build (not yet merged) and merge them."""
        if self.merged:
            raise RuntimeError("load_stored_state needs a fresh LoRA build; this one is merged")
        own = self.stored_state()
        if set(state) != set(own):
            unknown, missing = sorted(set(state) - set(own)), sorted(set(own) - set(state))
            raise ValueError(
                f"stored LoRA factors do not fit: unknown {unknown[:3]}, missing {missing[:3]}"
            )
        with torch.no_grad():
            for name, tensor in state.items():
                expected = tuple(own[name].shape)
                if tuple(tensor.shape) != expected:
                    raise ValueError(
                        f"stored {name} has shape {tuple(tensor.shape)}, not {expected}"
                    )
                own[name].copy_(tensor)
        self.finalize()

    def method_info(self) -> dict:
        return {
            "rank": self.config.rank,
            "alpha": self.config.alpha,
            "scaling": self.scaling,
            "target_modules": ",".join(self.target_modules),
            "lora_modules": len(self.paths),
            "loss_reduction": self.loss_reduction,
        }


def _add_update(factor: LowRank):
    def hook(module, inputs, output):
        return factor.add_to(output, inputs[0])

    return hook


REGISTER = {"lora": ("SPEC", "LoRA (Hu et al. 2021): low-rank A/B on the attention projections, merged for decoding")}  # fmt: skip


def peft_lora_anchor(loaded: LoadedModel, config: LoraConfig, adapted: AdaptedLM) -> Anchor:
    """PEFT's `LoraConfig` with the same rank, alpha, dropout and target modules."""
    import peft

    model = peft.get_peft_model(
        copy.deepcopy(loaded.model),
        peft.LoraConfig(
            r=config.rank,
            lora_alpha=config.alpha,
            lora_dropout=config.dropout,
            target_modules=list(adapted.target_modules),
        ),
    )
    params = [p for p in model.parameters() if p.requires_grad]
    return Anchor(f"PEFT LoRA (r={config.rank})", model, params)


SPEC = MethodSpec(LoraConfig, LoraTuned, anchor=peft_lora_anchor)
