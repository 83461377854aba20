"""One trainer for every method: AdamW, linear schedule, loss on target tokens only, dev-loss
checkpoint selection ("early stopping" on the run's dev split), seeds fixed.

The trainer only sees the `AdaptedLM` interface: which parameters train and how the loss is reduced
are the method's business.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from benchmark.data import Example
from benchmark.methods import AdaptedLM
from benchmark.models import LoadedModel

log = logging.getLogger(__name__)

IGNORE = -100


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite."""


@dataclass(frozen=True)
class TrainConfig:
    lr: float = 5e-5  # paper ACL A.2 low-data table-to-text: lr 5e-5
    batch_size: int = 10  # same source: batch 10
    max_steps: int = 200  # paper ACL Table 8 (prefix, 50-200 examples); the grid sets it per size
    # when set, max_steps = epochs x ceil(training pairs / batch_size), worked out once the training
    # set is known (`for_training_set`); for splits whose size is only known from the data (the
    # XSUM extrapolation splits). None: max_steps as given.
    epochs: int | None = None
    warmup_steps: int = 100  # anchor forwards --warmup_steps 100 only in low-data runs (setup §5)
    weight_decay: float = 0.0  # anchor default
    adam_eps: float = 1e-8  # anchor default
    max_grad_norm: float = 1.0  # anchor (transformers 3.x TrainingArguments default)
    eval_every: int = 50  # anchor `--eval_steps` default 50 (low-data runs)
    max_source_tokens: int = 256  # E2E sources are ~30-60 tokens; a cap only guards bad input
    max_target_tokens: int = 128
    seed: int = 0

    def __post_init__(self) -> None:
        if self.lr <= 0 or self.batch_size < 1:
            raise ValueError("lr must be > 0 and batch_size >= 1")
        if self.epochs is None and self.max_steps < 1:
            raise ValueError("max_steps must be >= 1 (or give epochs)")
        if self.epochs is not None and self.epochs < 1:
            raise ValueError("epochs must be >= 1")

    def for_training_set(self, pairs: int) -> TrainConfig:
        """This config with epochs turned into max_steps for `pairs` training pairs."""
        if self.epochs is None:
            return self
        steps = self.epochs * math.ceil(pairs / self.batch_size)
        return dataclasses.replace(self, max_steps=max(1, steps), epochs=None)


@dataclass
class TrainResult:
    steps: int
    best_step: int
    best_dev_loss: float
    train_seconds: float
    losses: list[float] = field(default_factory=list)
    dev_losses: list[tuple[int, float]] = field(default_factory=list)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def encode_pair(
    loaded: LoadedModel, source: str, target: str, config: TrainConfig
) -> tuple[list[int], list[int]]:
    """`" " + source, sep, " " + target, eos` as ids, with labels only on the target and eos (R23)."""
    src = loaded.tokenizer.encode(" " + source)[: config.max_source_tokens]
    tgt = loaded.tokenizer.encode(" " + target)[: config.max_target_tokens]
    ids = src + [loaded.sep_id] + tgt + [loaded.eos_id]
    labels = [IGNORE] * (len(src) + 1) + tgt + [loaded.eos_id]
    return ids, labels


def encode_prompt(loaded: LoadedModel, source: str, max_tokens: int = 256) -> list[int]:
    """The test-time prompt `" " + source, sep` (anchor run_generation.py)."""
    return loaded.tokenizer.encode(" " + source)[:max_tokens] + [loaded.sep_id]


def collate(
    pairs: list[tuple[list[int], list[int]]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad to the longest: (input_ids, attention_mask, labels), each (B, T); pads get -100."""
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    labels = torch.full((len(pairs), width), IGNORE, dtype=torch.long)
    for row, (seq, lab) in enumerate(pairs):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        labels[row, : len(lab)] = torch.tensor(lab)
    return ids, mask, labels


def sequence_losses(
    logits: torch.Tensor, labels: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-sequence summed token NLL (B,) and token counts (B,); logits (B, T, V), labels (B, T)."""
    shifted = logits[:, :-1].float()
    targets = labels[:, 1:]
    nll = torch.nn.functional.cross_entropy(
        shifted.reshape(-1, shifted.shape[-1]),
        targets.reshape(-1),
        ignore_index=IGNORE,
        reduction="none",
    ).view(targets.shape)
    return nll.sum(-1), (targets != IGNORE).sum(-1)


def reduce_loss(seq_sum: torch.Tensor, counts: torch.Tensor, reduction: str) -> torch.Tensor:
    if reduction == "sequence_sum":
        return seq_sum.mean()  # anchor: sum over tokens, mean over the batch (objective_mode 1)
    if reduction == "token_mean":
        return seq_sum.sum() / counts.sum().clamp(min=1)
    raise ValueError(f"unknown loss reduction {reduction!r}")


@torch.no_grad()
def dev_loss(adapted: AdaptedLM, batches: list) -> float:
    """Token-mean NLL on the dev split (comparable across methods whatever they train with)."""
    was_training = adapted.training
    adapted.eval()
    total, count = 0.0, 0
    for ids, mask, labels in batches:
        seq_sum, counts = sequence_losses(adapted(ids, mask), labels)
        total += float(seq_sum.sum())
        count += int(counts.sum())
    adapted.train(was_training)
    return total / max(count, 1)


def train(
    adapted: AdaptedLM,
    loaded: LoadedModel,
    train_examples: list[Example],
    dev_examples: list[Example],
    config: TrainConfig,
    progress: bool = True,
) -> TrainResult:
    """Train `adapted` in place for `config.max_steps` updates; keep the parameters of the best dev
    loss (checked every `eval_every` steps and at the end) and restore them before returning."""
    seed_everything(config.seed)
    pairs = [encode_pair(loaded, ex.source, ex.references[0], config) for ex in train_examples]
    dev_pairs = [
        encode_pair(loaded, ex.source, r, config) for ex in dev_examples for r in ex.references
    ]
    dev_batches = [
        collate(dev_pairs[i : i + config.batch_size], loaded.pad_id)
        for i in range(0, len(dev_pairs), config.batch_size)
    ]
    params = adapted.trainable_parameters()
    if not params:
        raise ValueError("the method left no parameter trainable")
    optimiser = torch.optim.AdamW(
        params, lr=config.lr, eps=config.adam_eps, weight_decay=config.weight_decay
    )
    warmup = min(config.warmup_steps, config.max_steps)

    def schedule(step: int) -> float:  # HF get_linear_schedule_with_warmup
        if step < warmup:
            return float(step + 1) / float(max(1, warmup))
        return max(0.0, float(config.max_steps - step) / float(max(1, config.max_steps - warmup)))

    scheduler = torch.optim.lr_scheduler.LambdaLR(optimiser, schedule)
    generator = torch.Generator().manual_seed(config.seed)
    order: list[int] = []
    result = TrainResult(0, 0, math.inf, 0.0)
    best_state = None
    adapted.train()
    start = time.perf_counter()
    bar = tqdm(total=config.max_steps, desc="train", disable=not progress, leave=False)
    for step in range(1, config.max_steps + 1):
        if len(order) < config.batch_size:  # reshuffle each epoch, batches never straddle epochs
            order = torch.randperm(len(pairs), generator=generator).tolist()
        batch_idx, order = order[: config.batch_size], order[config.batch_size :]
        ids, mask, labels = collate([pairs[i] for i in batch_idx], loaded.pad_id)
        seq_sum, counts = sequence_losses(adapted(ids, mask), labels)
        loss = reduce_loss(seq_sum, counts, adapted.loss_reduction)
        if not torch.isfinite(loss):
            raise TrainingDiverged(
                f"loss is {float(loss)} at step {step}; lower --lr or check the data"
            )
        optimiser.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, config.max_grad_norm)
        optimiser.step()
        scheduler.step()
        result.losses.append(float(loss.detach()))
        result.steps = step
        bar.update(1)
        bar.set_postfix(loss=f"{result.losses[-1]:.3f}")
        if dev_batches and (step % config.eval_every == 0 or step == config.max_steps):
            current = dev_loss(adapted, dev_batches)
            result.dev_losses.append((step, current))
            if current < result.best_dev_loss:
                result.best_dev_loss, result.best_step = current, step
                best_state = [p.detach().clone() for p in params]
    bar.close()
    if best_state is not None and result.best_step != result.steps:
        with torch.no_grad():
            for p, saved in zip(params, best_state):
                p.copy_(saved)
    if not dev_batches:
        result.best_step = result.steps
    adapted.eval()
    result.train_seconds = time.perf_counter() - start
    return result
