"""Low-data subsets (paper §6.3): deterministic, right sizes, disjoint, indices stored."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmark.data import Example
from benchmark.data.sampling import (
    lowdata_dev_size,
    sample_lowdata,
)
from benchmark.paper import LOWDATA_SEEDS, LOWDATA_SIZES, LOWDATA_SUBSETS

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]

TRAIN = [Example(f"source {i}", (f"target {i}",)) for i in range(2_000)]
DEV = [Example(f"dev source {i}", (f"dev target {i}",)) for i in range(300)]


@pytest.fixture(scope="module")
def e2e_pairs() -> tuple[list[Example], list[Example]]:
    from benchmark.data.e2e import load_e2e_pairs

    data_dir = data_root()
    need_data(
        (data_dir / "e2e" / "trainset.csv").is_file(),
        f"E2E files not found under {data_dir}/e2e (set BENCHMARK_DATA_DIR)",
    )
    return load_e2e_pairs(data_dir, "train"), load_e2e_pairs(data_dir, "dev")


def test_grid_constants_follow_the_paper() -> None:
    assert LOWDATA_SIZES == (50, 100, 200, 500)
    assert (LOWDATA_SUBSETS, LOWDATA_SEEDS) == (5, 2)  # 10 models per size
    assert [lowdata_dev_size(size) for size in LOWDATA_SIZES] == [15, 30, 60, 150]


def test_deterministic() -> None:
    first, again = sample_lowdata(TRAIN, DEV, 100, 3), sample_lowdata(TRAIN, DEV, 100, 3)
    assert first == again


@pytest.mark.parametrize("train_size", LOWDATA_SIZES)
def test_sizes_and_indices(train_size: int) -> None:
    for subset in range(LOWDATA_SUBSETS):
        sample = sample_lowdata(TRAIN, DEV, train_size, subset)
        assert (sample.train_size, sample.subset) == (train_size, subset)
        assert len(sample.train) == len(sample.train_indices) == train_size
        assert len(sample.dev) == len(sample.dev_indices) == int(0.3 * train_size)
        assert len(set(sample.train_indices)) == train_size  # without replacement
        assert len(set(sample.dev_indices)) == len(sample.dev_indices)
        assert sample.train == [TRAIN[i] for i in sample.train_indices]
        assert sample.dev == [DEV[i] for i in sample.dev_indices]
        assert all(isinstance(i, int) for i in sample.train_indices + sample.dev_indices)


def test_subsets_and_sizes_differ() -> None:
    draws = {
        (size, subset): set(sample_lowdata(TRAIN, DEV, size, subset).train_indices)
        for size in LOWDATA_SIZES
        for subset in range(LOWDATA_SUBSETS)
    }
    for size in LOWDATA_SIZES:
        firsts = [draws[size, subset] for subset in range(LOWDATA_SUBSETS)]
        assert len({frozenset(draw) for draw in firsts}) == LOWDATA_SUBSETS
    # Not nested: the 100-example subset 0 is not the 50-example one plus 50 more.
    assert not draws[50, 0] <= draws[100, 0]


def test_rejects_impossible_requests() -> None:
    with pytest.raises(ValueError, match="cannot draw"):
        sample_lowdata(TRAIN[:40], DEV, 50, 0)
    with pytest.raises(ValueError, match="cannot draw"):
        sample_lowdata(TRAIN, DEV[:10], 50, 0)
    with pytest.raises(ValueError, match="train_size"):
        sample_lowdata(TRAIN, DEV, 0, 0)


def test_e2e_subsets_are_disjoint_and_pinned(
    e2e_pairs: tuple[list[Example], list[Example]],
) -> None:
    train_pairs, dev_pairs = e2e_pairs
    for size in LOWDATA_SIZES:
        for subset in range(LOWDATA_SUBSETS):
            sample = sample_lowdata(train_pairs, dev_pairs, size, subset)
            train_text = {(ex.source, ex.references) for ex in sample.train}
            dev_text = {(ex.source, ex.references) for ex in sample.dev}
            assert not train_text & dev_text
            # E2E's splits share no MR, so not even an input is seen in both.
            assert not {ex.source for ex in sample.train} & {ex.source for ex in sample.dev}
    # Pinned draw: if numpy ever changes Generator.choice, stored subsets would no longer match.
    sample = sample_lowdata(train_pairs, dev_pairs, 50, 0)
    assert sample.train_indices[:5] == (22813, 5261, 30021, 23021, 16910)
    assert sample.dev_indices[:5] == (890, 276, 2163, 2047, 1189)


def test_fractions_are_nested_and_keep_the_dev_split():
    from benchmark.data.sampling import LowDataSubset, fraction_size, take_fraction

    pairs = [Example(f"s{i}", (f"r{i}",)) for i in range(200)]
    pool = sample_lowdata(pairs, pairs, 100, subset=1)
    small, large = take_fraction(pool, 0.1), take_fraction(pool, 0.4)
    assert (len(small.train), len(large.train)) == (10, 40)
    assert set(small.train_indices) < set(large.train_indices) <= set(pool.train_indices)
    assert [pairs[i] for i in large.train_indices] == large.train
    assert large.dev == pool.dev and large.dev_indices == pool.dev_indices
    full = LowDataSubset(pairs, pairs[:5], (), (0, 1, 2, 3, 4), 200, 0)
    assert [pairs[i] for i in take_fraction(full, 0.2).train_indices] == take_fraction(
        full, 0.2
    ).train
    assert fraction_size(42_061, 0.1) == 4_206
    with pytest.raises(ValueError):
        fraction_size(10, 0.0)
