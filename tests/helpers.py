"""Shared test helpers (tests never import each other)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parent.parent
# In CI (`CI=true`, as `.ci/run` sets it) a test that needs the data directory fails when it is
# missing instead of skipping: a suite whose data tests all skipped would pass without testing them.
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def data_root() -> Path:
    """$BENCHMARK_DATA_DIR (as the README sets it, relative or absolute), else ../shared/data,
    resolved once to an absolute path, as `benchmark.data.resolve_data_dir` does."""
    env = os.environ.get("BENCHMARK_DATA_DIR")
    return (Path(env) if env else REPO.parent / "shared" / "data").expanduser().resolve()


def need_data(present: bool, reason: str) -> None:
    """Skip with `reason` when the data is not `present`; in CI, fail instead."""
    if present:
        return
    if IN_CI:
        pytest.fail(f"CI=true but {reason}; .ci/run sets BENCHMARK_DATA_DIR=../shared/data")
    pytest.skip(reason)


# table-to-text sources for decoding tests
SOURCES = [
    "name : Aromi | Type : coffee shop",
    "name : Bibimbap House | food : Chinese | area : riverside | near : Clare Hall",
    "name : X",
]
LIMITS = (256, 128)  # TrainConfig's default max source / target tokens, for layout.encode_pair


def reference_greedy(adapted, loaded, prompt: list[int], max_new: int) -> list[int]:
    """No cache reuse: every step is a full forward of prompt + generated tokens."""
    tokens = list(prompt)
    out = []
    for _ in range(max_new):
        x = torch.tensor([tokens])
        with torch.no_grad():
            logits = adapted(x, torch.ones_like(x))[0, -1].clone()
        logits[loaded.banned_ids] = -float("inf")
        nxt = int(logits.argmax())
        if nxt == loaded.eos_id:
            break
        out.append(nxt)
        tokens.append(nxt)
    return out
