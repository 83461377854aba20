"""Shared fixtures: tiny models built in code, and the real data directory when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    candidate = Path(os.environ.get("BENCHMARK_DATA_DIR", REPO.parent / "shared" / "data"))
    return candidate if (candidate / "e2e" / "trainset.csv").is_file() else None


@pytest.fixture
def e2e_dir() -> Path:
    found = data_dir()
    if found is None:
        pytest.skip("E2E data not found: set BENCHMARK_DATA_DIR or put it in ../shared/data")
    return found


@pytest.fixture(params=["tiny-gpt2", "tiny-llama"])
def tiny(request):
    from benchmark.models import load_model

    return load_model(request.param)
