"""Shared by every scorer: input checks (one reference list per hypothesis, none empty) and the
error a model-based metric raises when its model or package is not on this machine."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class MetricUnavailable(RuntimeError):
    """A model-based metric cannot run here (model weights or package missing); says why.

    The scorers turn it into a "not computed: <why>" cell, never a number."""


def check_inputs(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    """Lists of hypotheses and of reference lists, or a TypeError/ValueError saying what is wrong."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists, not a single string")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("nothing to score: no hypotheses")
    checked = []
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            raise TypeError(f"references[{index}] is a string; it must be a list of strings")
        if not refs:
            raise ValueError(f"references[{index}] is empty; every input needs a reference")
        checked.append(list(refs))
    return list(hypotheses), checked


def load_local_encoder(name: str, env: str, **tokenizer_options: Any) -> tuple[Any, Any]:
    """(tokenizer, model) of a hub id or directory from local files only, never downloaded.

    Raises MetricUnavailable naming the fix (`hf download`, or the environment variable `env`).
    """
    from transformers import AutoModel, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name, local_files_only=True, **tokenizer_options)
        model = AutoModel.from_pretrained(name, local_files_only=True)
    except (OSError, ValueError) as error:
        raise MetricUnavailable(
            f"{name} weights not found locally (fetch them once with `hf download {name}`, "
            f"or set ${env} to a directory): {str(error).splitlines()[0]}"
        ) from error
    return tokenizer, model.eval()


def last_hidden_states(
    model: Any, pad_id: int, rows: list[list[int]], desc: str, batch_size: int = 64
) -> list[Any]:
    """The last hidden states [T, d] (float32) of each token-id list, in order.

    Lists are run `batch_size` at a time, padded with `pad_id` behind an attention mask (give
    them sorted by length to waste little on padding); a progress bar with ETA shows on a
    terminal.
    """
    import torch
    from tqdm.auto import tqdm

    out = []
    batches = range(0, len(rows), batch_size)
    for start in tqdm(batches, desc=desc, unit="batch", disable=None, leave=False):
        batch = rows[start : start + batch_size]
        width = max(len(ids) for ids in batch)
        ids = torch.tensor([row + [pad_id] * (width - len(row)) for row in batch])
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in batch])
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=mask).last_hidden_state
        out += [states[: len(row)].clone() for row, states in zip(batch, hidden, strict=True)]
    return out
