"""The one interval every report draws: a percentile bootstrap with a fixed seed (numpy).

    from benchmark.report.stats import bootstrap_mean, paired_bootstrap, unpaired_bootstrap
    paired_bootstrap([1.2, -0.4, 2.0])          # (mean difference, low, high) of a 95% interval
    unpaired_bootstrap([60.1, 61.0], [58.2, 59.9])
    bootstrap_mean([59.8, 61.8])                # a figure point's interval

Percentile interval: the 2.5th and 97.5th percentiles of the statistic over `RESAMPLES` resamples
drawn with replacement. The same seed for every call, so the same CSVs give the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RESAMPLES = 10_000  # the stated method of the scorecard and the figures
SEED = 0  # fixed: reports are deterministic
LEVEL = 0.95
METHOD = f"percentile bootstrap, {RESAMPLES:,} resamples, seed {SEED}, {LEVEL:.0%} interval (numpy)"


def _percentiles(statistic: np.ndarray) -> tuple[float, float]:
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(statistic, [tail, 100 - tail])
    return float(low), float(high)


def _resampled_means(values: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Means of `RESAMPLES` resamples of `values`; shape (RESAMPLES,)."""
    return values[rng.integers(0, len(values), size=(RESAMPLES, len(values)))].mean(axis=1)


def bootstrap_mean(values: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high) of `values` (at least 2)."""
    data = np.asarray(values, dtype=float)
    if len(data) < 2:
        raise ValueError("an interval needs at least 2 values")
    return (float(data.mean()), *_percentiles(_resampled_means(data, np.random.default_rng(SEED))))


def paired_bootstrap(differences: Sequence[float]) -> tuple[float, float, float]:
    """(mean, low, high) of paired differences a - b, one per shared unit (at least 2): the
    units are resampled, each keeping both of its runs."""
    return bootstrap_mean(differences)


def unpaired_bootstrap(a: Sequence[float], b: Sequence[float]) -> tuple[float, float, float]:
    """(mean(a) - mean(b), low, high), each group resampled on its own (at least 2 each)."""
    first, second = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if min(len(first), len(second)) < 2:
        raise ValueError("an interval needs at least 2 values per group")
    rng = np.random.default_rng(SEED)
    statistic = _resampled_means(first, rng) - _resampled_means(second, rng)
    return (float(first.mean() - second.mean()), *_percentiles(statistic))
