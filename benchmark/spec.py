"""What determines a run's numbers: `RunSpec` with its `TrainConfig` and `DecodeConfig`.

Built once by an experiment (benchmark/experiments/), changed only by the user's typed overrides
(`apply_overrides`, the CLI's ``--set section.field=value``), hashed, stored in every run's
``run.json`` and read back with `spec_from_dict`. Torch-free, so listing and validating runs is
instant.

The config hash leaves out labels (fields marked ``label``) and every option that is at its
declared "off" value (`off(...)` on the field): an option added after results were recorded, while
off, cannot have changed a number, so earlier rows stay valid without a hand-kept list.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any

from benchmark.errors import ConfigError

OFF = "off"  # field metadata: the value that means "not used"; left out of the config hash
LABEL = "label"  # field metadata: a name for people; changes no number, left out of the hash


PRECISIONS = ("fp32", "bf16")


def off(value: Any) -> Any:
    """A dataclass field whose default `value` means "off" (left out of the config hash)."""
    return field(default=value, metadata={OFF: value})


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 5e-5  # paper ACL A.2 low-data table-to-text: lr 5e-5
    batch_size: int = 10  # same source: batch 10
    max_steps: int = 200  # paper ACL Table 8 (prefix, 50-200 examples); the grid sets it per size
    # when set, max_steps = epochs x ceil(training pairs / batch_size), worked out once the training
    # set is known (`for_training_set`); for splits whose size is only known from the data (the
    # XSUM extrapolation splits). None: max_steps as given.
    epochs: int | None = off(None)
    warmup_steps: int = 100  # anchor forwards --warmup_steps 100 only in low-data runs (setup §5)
    weight_decay: float = 0.0  # anchor default
    adam_eps: float = 1e-8  # anchor default
    max_grad_norm: float = 1.0  # anchor (transformers 3.x TrainingArguments default)
    eval_every: int = 50  # anchor `--eval_steps` default 50 (low-data runs)
    max_source_tokens: int = 256  # E2E sources are ~30-60 tokens; a cap only guards bad input
    max_target_tokens: int = 128
    seed: int = 0
    # "fp32" (the default: exact) or "bf16": the forward under bf16 autocast, weights, gradients
    # and optimiser state in fp32; only where the hardware multiplies bf16 natively (lm.bf16_refusal)
    precision: str = off("fp32")

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"train.precision must be one of {', '.join(PRECISIONS)}")
        if self.lr <= 0 or self.batch_size < 1:
            raise ConfigError("train.lr must be > 0 and train.batch_size >= 1")
        if self.epochs is None and self.max_steps < 1:
            raise ConfigError("train.max_steps must be >= 1 (or give train.epochs)")
        if self.epochs is not None and self.epochs < 1:
            raise ConfigError("train.epochs must be >= 1")
        if self.eval_every < 1 or self.max_source_tokens < 1 or self.max_target_tokens < 1:
            raise ConfigError("train.eval_every, max_source_tokens, max_target_tokens must be >= 1")

    def for_training_set(self, pairs: int) -> TrainConfig:
        """This config with epochs turned into max_steps for `pairs` training pairs."""
        if self.epochs is None:
            return self
        steps = self.epochs * math.ceil(pairs / self.batch_size)
        return dataclasses.replace(self, max_steps=max(1, steps), epochs=None)


@dataclass(frozen=True)
class DecodeConfig:
    num_beams: int = 5  # paper §5.3: beam search, beam 5, for table-to-text
    max_new_tokens: int = 100  # anchor gen.py --length 100
    length_penalty: float = 1.0  # anchor default
    batch_size: int = 16  # prompts per batch (rows = batch x beams)
    # EOS is banned until this many tokens are out; 0 = off, as the table-to-text decoder (R27)
    min_new_tokens: int = off(0)
    # ban a token that would repeat an n-gram of the output so far; 0 = off (GPT-2 config, R27)
    no_repeat_ngram_size: int = off(0)
    # transformers' early_stopping for beam search: True ends a prompt as soon as it has num_beams
    # finished hypotheses; False (the GPT-2 default, R27) also waits while a running beam, scored
    # at the current length, could still beat the worst finished one
    early_stopping: bool = off(False)
    precision: str = off("fp32")  # as TrainConfig.precision, for decoding

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ConfigError(f"decode.precision must be one of {', '.join(PRECISIONS)}")
        if self.num_beams < 1 or self.max_new_tokens < 1 or self.batch_size < 1:
            raise ConfigError("decode.num_beams, max_new_tokens and batch_size must be >= 1")
        if self.min_new_tokens < 0 or self.no_repeat_ngram_size < 0:
            raise ConfigError("decode.min_new_tokens and no_repeat_ngram_size must be >= 0")
        if self.min_new_tokens >= self.max_new_tokens:
            raise ConfigError("decode.min_new_tokens must be below decode.max_new_tokens")


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's numbers."""

    grid: str
    scale: str
    dataset: str
    method: str
    model: str
    train_size: int  # 0: the whole training split; else a low-data sample of this size
    subset: int
    seed: int
    train: TrainConfig
    decode: DecodeConfig
    method_options: dict[str, Any] = field(default_factory=dict)
    eval_split: str = "test"
    eval_limit: int | None = None  # score N inputs of eval_split (None: all; see limit_eval)
    # the paper's row label (e.g. "adapter-0.1%"); defaults to the method
    variant: str = field(default="", metadata={LABEL: True})
    # train on this fraction of the (sampled or whole) training set (ACL Figure 6); None: all of it
    train_fraction: float | None = off(None)

    def __post_init__(self) -> None:
        if self.train_size < 0:
            raise ConfigError("train_size must be >= 1 (0 means the whole training split)")
        if self.eval_limit is not None and self.eval_limit < 1:
            raise ConfigError("eval.limit must be >= 1 (or null: every input)")
        if self.train_fraction is not None and not 0 < self.train_fraction <= 1:
            raise ConfigError("train_fraction must be in (0, 1]")

    @property
    def label(self) -> str:
        return self.variant or self.method

    @property
    def run_id(self) -> str:
        """Readable and deterministic: e2e/prefix/n=100/subset=2/seed=1 (+ config hash column)."""
        size = self.train_size or "full"
        part = "" if self.train_fraction is None else f"/frac={self.train_fraction:g}"
        return f"{self.dataset}/{self.label}/n={size}{part}/subset={self.subset}/seed={self.seed}"

    def resolved(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def config_hash(self) -> str:
        blob = json.dumps(hashed_fields(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]

    @property
    def recipe_hash(self) -> str:
        """The config hash without the grid: runs of two grids with one recipe train the same
        model (ACL Figure 5's "table-to-text:" point is Figure 3's prefix run at 100 pairs)."""
        fields = {k: v for k, v in hashed_fields(self).items() if k != "grid"}
        blob = json.dumps(fields, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


def hashed_fields(config: Any) -> Any:
    """A dataclass as the dict its hash covers: labels and options at their "off" value left out."""
    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        out = {}
        for f in dataclasses.fields(config):
            value = getattr(config, f.name)
            if f.metadata.get(LABEL) or (OFF in f.metadata and value == f.metadata[OFF]):
                continue
            out[f.name] = hashed_fields(value)
        return out
    if isinstance(config, dict):
        return {k: hashed_fields(v) for k, v in config.items()}
    return config


def spec_from_dict(resolved: dict[str, Any]) -> RunSpec:
    """Inverse of `RunSpec.resolved()` (as stored in a run's run.json)."""
    return RunSpec(
        **{
            **resolved,
            "train": TrainConfig(**resolved["train"]),
            "decode": DecodeConfig(**resolved["decode"]),
        }
    )


# ---- typed overrides: --set train.max_steps=10 --set decode.num_beams=1 --set eval.limit=20 ----

# section -> (RunSpec attribute, its config class); "eval" maps onto RunSpec's eval_* fields and
# "method" onto the method's own config class (given by the caller, who knows the method)
SECTIONS = ("train", "decode", "eval", "method")
EVAL_FIELDS = {"limit": "eval_limit", "split": "eval_split"}


def parse_override(item: str) -> tuple[str, str, str]:
    """``section.field=value`` -> (section, field, raw value). A bare ``field=value`` is a method
    option (``--set mid_dim=800``, as before sections existed)."""
    key, sep, raw = item.partition("=")
    if not sep or not key:
        raise ConfigError(f"--set expects SECTION.FIELD=VALUE, got {item!r}")
    section, dot, name = key.partition(".")
    if not dot:
        section, name = "method", key
    if section not in SECTIONS:
        raise ConfigError(
            f"--set {item!r}: unknown section {section!r}; use one of {', '.join(SECTIONS)} "
            "(e.g. --set train.max_steps=10)"
        )
    return section, name, raw


def coerce(raw: str, annotation: Any, where: str) -> Any:
    """`raw` as a value of the field type `annotation` (int, float, bool, str, tuples, optionals).
    ``null``/``none`` gives None where the type allows it."""
    hint = annotation
    options = typing.get_args(hint) if _is_union(hint) else (hint,)
    allows_none = type(None) in options
    if raw.strip().lower() in ("null", "none"):
        if allows_none:
            return None
        raise ConfigError(f"{where} cannot be null")
    for option in options:
        if option is type(None):
            continue
        try:
            return _coerce_one(raw, option)
        except (TypeError, ValueError):
            continue
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise ConfigError(f"{where}={raw!r} is not a valid {names}")


def _coerce_one(raw: str, kind: Any) -> Any:
    if kind is bool:
        lowered = raw.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise ValueError(raw)
    if kind is int:
        return int(raw)
    if kind is float:
        return float(raw)
    if kind is str:
        return raw
    if typing.get_origin(kind) is tuple:
        inner = typing.get_args(kind)[0]
        return tuple(_coerce_one(part.strip(), inner) for part in raw.split(",") if part.strip())
    raise TypeError(kind)


def _is_union(hint: Any) -> bool:
    return typing.get_origin(hint) in (typing.Union, types.UnionType)


def field_types(config_cls: type) -> dict[str, Any]:
    """Field name -> its resolved type (string annotations evaluated in the class's module)."""
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def apply_overrides(
    spec: RunSpec, overrides: list[tuple[str, str, str]], method_config_cls: type | None = None
) -> RunSpec:
    """`spec` with each (section, field, raw) override applied, values typed from the dataclass
    fields. A method override only applies to runs whose method has that field (the caller checks
    that each applied to some run); every other unknown field is an error."""
    train, decode, top, method = {}, {}, {}, {}
    for section, name, raw in overrides:
        where = f"{section}.{name}"
        if section in ("train", "decode"):
            types_ = field_types(TrainConfig if section == "train" else DecodeConfig)
            if name not in types_:
                raise ConfigError(f"unknown {where}; known: {', '.join(sorted(types_))}")
            (train if section == "train" else decode)[name] = coerce(raw, types_[name], where)
        elif section == "eval":
            if name not in EVAL_FIELDS:
                raise ConfigError(f"unknown {where}; known: {', '.join(sorted(EVAL_FIELDS))}")
            attribute = EVAL_FIELDS[name]
            top[attribute] = coerce(raw, field_types(RunSpec)[attribute], where)
        elif method_config_cls is not None:
            types_ = field_types(method_config_cls)
            if name in types_:
                method[name] = coerce(raw, types_[name], where)
    return dataclasses.replace(
        spec,
        train=dataclasses.replace(spec.train, **train),
        decode=dataclasses.replace(spec.decode, **decode),
        method_options={**spec.method_options, **method},
        **top,
    )
