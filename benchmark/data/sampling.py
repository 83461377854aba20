"""Which training and dev pairs a run sees: low-data subsets (paper §6.3, Figure 3: a few training
pairs plus a dev split 30% that size), fractions of a sample (Figure 6) and the full split.

Usage::

    from benchmark.data.e2e import load_e2e_pairs
    from benchmark.data.sampling import sample_lowdata
    subset = sample_lowdata(load_e2e_pairs(d, "train"), load_e2e_pairs(d, "dev"), 100, subset=2)
    subset.train_indices  # rows of trainset.csv; store them with the result

Sampling: ``np.random.default_rng([train_size, subset])`` draws `train_size` train indices, then
``int(0.3 * train_size)`` dev indices, both without replacement (numpy's `Generator.choice`). The
seed depends only on (train_size, subset), so every method and every training seed of one subset
sees exactly the same examples. The authors' sampling seeds and subset files are not published
[setup.md §10]; their XSUM script draws the same way with the legacy `np.random.seed`
[implementation-notes A.9], so our subsets are equivalent in distribution, not identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from benchmark.data import Example

LOWDATA_DEV_FRACTION = 0.3  # paper ACL fn 9: dev split of 30% x training size


@dataclass(frozen=True)
class LowDataSubset:
    """One sampled low-data dataset: training pairs and its own small dev split.

    `train_indices` / `dev_indices` index the pair lists the subset was drawn from (for E2E, rows
    of trainset.csv / devset.csv), in draw order, so a rerun can be checked against a stored run.
    """

    train: list[Example]
    dev: list[Example]
    train_indices: tuple[int, ...]
    dev_indices: tuple[int, ...]
    train_size: int
    subset: int


def lowdata_dev_size(train_size: int) -> int:
    """Size of the dev split of a low-data subset: int(0.3 x train_size) [ACL fn 9]."""
    return int(LOWDATA_DEV_FRACTION * train_size)


def sample_lowdata(
    train_pairs: list[Example], dev_pairs: list[Example], train_size: int, subset: int
) -> LowDataSubset:
    """Draw subset number `subset` of size `train_size` (deterministic; see the module docstring).

    Args:
        train_pairs: the full training split, one (source, reference) pair per item.
        dev_pairs: the full validation split as pairs; the subset's dev split comes from it.
        train_size: number of training pairs, e.g. one of `paper.LOWDATA_SIZES`.
        subset: which sampled dataset (0 .. `paper.LOWDATA_SUBSETS`-1 in the paper's grid).
    """
    if train_size < 1 or subset < 0:
        raise ValueError(f"need train_size >= 1 and subset >= 0, got {train_size} and {subset}")
    dev_size = lowdata_dev_size(train_size)
    if train_size > len(train_pairs) or dev_size > len(dev_pairs):
        raise ValueError(
            f"cannot draw {train_size} train / {dev_size} dev pairs from "
            f"{len(train_pairs)} / {len(dev_pairs)}"
        )
    rng = np.random.default_rng([train_size, subset])
    train_indices = tuple(int(i) for i in rng.choice(len(train_pairs), train_size, replace=False))
    dev_indices = tuple(int(i) for i in rng.choice(len(dev_pairs), dev_size, replace=False))
    return LowDataSubset(
        train=[train_pairs[i] for i in train_indices],
        dev=[dev_pairs[i] for i in dev_indices],
        train_indices=train_indices,
        dev_indices=dev_indices,
        train_size=train_size,
        subset=subset,
    )


def fraction_size(pool: int, fraction: float) -> int:
    """Pairs kept when training on `fraction` of `pool` pairs: round(fraction x pool), at least 1."""
    if not 0 < fraction <= 1:
        raise ValueError(f"a training fraction must be in (0, 1], got {fraction}")
    return max(1, round(fraction * pool))


def take_fraction(subset: LowDataSubset, fraction: float) -> LowDataSubset:
    """Keep `fraction` of the training pairs of `subset` (ACL §7.5, Figure 6: 10%-80% of E2E).

    The kept pairs are the first `fraction_size` of a permutation drawn from
    ``np.random.default_rng([len(subset.train), subset.subset])``, so for one pool the fractions are
    nested (the 10% pairs are inside the 20% pairs, ...). The dev split is unchanged.
    """
    size = fraction_size(len(subset.train), fraction)
    order = np.random.default_rng([len(subset.train), subset.subset]).permutation(len(subset.train))
    kept = [int(i) for i in order[:size]]
    # indices into the original split: a full-data subset keeps file order (no stored indices)
    source = subset.train_indices or tuple(range(len(subset.train)))
    return LowDataSubset(
        train=[subset.train[i] for i in kept],
        dev=subset.dev,
        train_indices=tuple(source[i] for i in kept),
        dev_indices=subset.dev_indices,
        train_size=size,
        subset=subset.subset,
    )


FULL_DATA_DEV_PAIRS = 500  # dev pairs scored for checkpoint selection in full-data runs (cost cap)


def full_data(train_pairs: list[Example], dev_pairs: list[Example]) -> LowDataSubset:
    """The whole training split, and a fixed sample of the dev split for checkpoint selection."""
    rng = np.random.default_rng(0)
    count = min(FULL_DATA_DEV_PAIRS, len(dev_pairs))
    dev_indices = tuple(int(i) for i in rng.choice(len(dev_pairs), count, replace=False))
    return LowDataSubset(
        train=list(train_pairs),
        dev=[dev_pairs[i] for i in dev_indices],
        train_indices=(),  # all of them, in file order
        dev_indices=dev_indices,
        train_size=len(train_pairs),
        subset=0,
    )


def training_data(
    train_pairs: list[Example],
    dev_pairs: list[Example],
    train_size: int,
    subset: int,
    train_fraction: float | None = None,
) -> LowDataSubset:
    """What a run trains and selects on: a low-data sample of `train_size` pairs (subset `subset`)
    or, for `train_size` 0, the whole split; then `train_fraction` of it when given."""
    if train_size:
        data = sample_lowdata(train_pairs, dev_pairs, train_size, subset)
    else:
        data = full_data(train_pairs, dev_pairs)
    if train_fraction is not None:
        data = take_fraction(data, train_fraction)
    return data
