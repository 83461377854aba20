"""The token layout of a row, shared by the trainer and the decoder.

Training rows are ``encode(" " + source) + [sep] + encode(" " + target) + [eos]`` with labels on the
target and eos only (the paper's ``' ' + src + ' ' + bos + ' ' + tgt + ' ' + eos``, R23); prompts
are ``encode(" " + source) + [sep]`` (anchor run_generation.py). Plain ints in, tensors out; no
configs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from benchmark.models import LoadedModel

IGNORE = -100  # label of positions that are not scored (cross_entropy's ignore_index)


def encode_pair(
    loaded: LoadedModel, source: str, target: str, max_source_tokens: int, max_target_tokens: int
) -> tuple[list[int], list[int]]:
    """(ids, labels) of one training row; labels are IGNORE on the source and the separator."""
    src = loaded.tokenizer.encode(" " + source)[:max_source_tokens]
    tgt = loaded.tokenizer.encode(" " + target)[:max_target_tokens]
    ids = src + [loaded.sep_id] + tgt + [loaded.eos_id]
    labels = [IGNORE] * (len(src) + 1) + tgt + [loaded.eos_id]
    return ids, labels


def encode_prompt(loaded: LoadedModel, source: str, max_source_tokens: int = 256) -> list[int]:
    """The test-time prompt `" " + source, sep`."""
    return loaded.tokenizer.encode(" " + source)[:max_source_tokens] + [loaded.sep_id]


def collate(
    pairs: list[tuple[list[int], list[int]]], pad_id: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Right-pad to the longest: (input_ids, attention_mask, labels), each (B, T); pads get IGNORE."""
    width = max(len(ids) for ids, _ in pairs)
    ids = torch.full((len(pairs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(pairs), width), dtype=torch.long)
    labels = torch.full((len(pairs), width), IGNORE, dtype=torch.long)
    for row, (seq, lab) in enumerate(pairs):
        ids[row, : len(seq)] = torch.tensor(seq)
        mask[row, : len(seq)] = 1
        labels[row, : len(lab)] = torch.tensor(lab)
    return ids, mask, labels


@dataclass
class TrainBatch:
    """One training batch in two layouts: padded (ids, mask, labels, each (B, T)) for methods
    that need whole rows, and packed (the real tokens of every row back to back, (1, N)) for the
    packed path, with where each token came from.

    The K target positions (those whose next token is scored) are the same in both, in row-major
    order: `predicts` marks them in the packed row, `targets` holds the tokens they predict and
    `target_rows` the row each belongs to.
    """

    ids: torch.Tensor
    mask: torch.Tensor
    labels: torch.Tensor
    packed_ids: torch.Tensor  # (1, N)
    offsets: torch.Tensor  # (N,) position of each packed token within its row
    slots: torch.Tensor  # (N,) row * T + offset
    lengths: torch.Tensor  # (B,)
    predicts: torch.Tensor  # (1, N) bool
    targets: torch.Tensor  # (K,)
    target_rows: torch.Tensor  # (K,)

    @property
    def rows(self) -> int:
        return int(self.ids.shape[0])

    def to(self, device: torch.device | str) -> TrainBatch:
        return TrainBatch(**{k: v.to(device) for k, v in vars(self).items()})

    def padded_predicts(self) -> torch.Tensor:
        """(B, T) bool: the target positions in the padded layout."""
        keep = torch.zeros_like(self.mask, dtype=torch.bool)
        keep[:, :-1] = self.labels[:, 1:] != IGNORE
        return keep


def train_batch(pairs: list[tuple[list[int], list[int]]], pad_id: int) -> TrainBatch:
    """Both layouts of `pairs` (from `encode_pair`)."""
    ids, mask, labels = collate(pairs, pad_id)
    width = ids.shape[1]
    packed, offsets, slots, predicts, targets, target_rows = [], [], [], [], [], []
    for row, (seq, lab) in enumerate(pairs):
        packed += seq
        offsets += range(len(seq))
        slots += range(row * width, row * width + len(seq))
        nxt = lab[1:] + [IGNORE]
        predicts += [t != IGNORE for t in nxt]
        scored = [t for t in nxt if t != IGNORE]
        targets += scored
        target_rows += [row] * len(scored)
    return TrainBatch(
        ids=ids,
        mask=mask,
        labels=labels,
        packed_ids=torch.tensor([packed]),
        offsets=torch.tensor(offsets),
        slots=torch.tensor(slots),
        lengths=torch.tensor([len(seq) for seq, _ in pairs]),
        predicts=torch.tensor([predicts]),
        targets=torch.tensor(targets, dtype=torch.long),
        target_rows=torch.tensor(target_rows, dtype=torch.long),
    )


def left_pad(prompts: list[list[int]], pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Left-pad prompts to the longest: (input_ids, attention_mask), each (B, T)."""
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, p in enumerate(prompts):
        ids[row, width - len(p) :] = torch.tensor(p)
        mask[row, width - len(p) :] = 1
    return ids, mask
