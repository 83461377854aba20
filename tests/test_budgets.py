"""Parameter accounting on GPT-2 medium's architecture (built without weights): the paper's
"250K" prefix (ACL fn 7) and adapter widths for the 3% / 0.1% budgets (R6, R20)."""

from __future__ import annotations

import pytest

from benchmark.budget import parameter_table
from benchmark.methods.adapter import adapter_params_per_layer, bottleneck_for_budget


@pytest.fixture(scope="module")
def medium():
    return {row["variant"]: row for row in parameter_table("gpt2-medium")}


def test_lm_size(medium):
    assert medium["fine-tune"]["lm_params"] == 354_823_168  # GPT-2 medium with tied embeddings


def test_prefix_stores_the_papers_250k(medium):
    assert medium["prefix-0.1% (P=5)"]["stored_params"] == 245_760  # 5 x 24 x 2 x 1024 (ACL fn 7)
    assert medium["prefix-0.1% (P=10)"]["stored_params"] == 491_520  # DART's "500K"
    assert round(medium["prefix-0.1% (P=5)"]["stored_pct"], 3) == 0.069
    assert (
        medium["prefix-0.1% (P=5)"]["trainable_params"] > 20 * 245_760
    )  # the MLP trains, is not kept


@pytest.mark.parametrize("variant, target", [("adapter-3%", 3.0), ("adapter-0.1%", 0.1)])
def test_adapter_budgets_within_ten_percent(medium, variant, target):
    assert abs(medium[variant]["trainable_pct"] - target) <= 0.1 * target
    assert medium[variant]["stored_params"] == medium[variant]["trainable_params"]


def test_adapter_widths_match_the_notes():
    # implementation-notes A.10: design 1 on GPT-2 medium, b=215 -> 3.00%, b=6 -> 0.104%
    assert bottleneck_for_budget(3.0, 354_823_168, 24, 1024) == 215
    assert bottleneck_for_budget(0.1, 354_823_168, 24, 1024) == 6
    assert round(100 * 24 * adapter_params_per_layer(1024, 6) / 354_823_168, 3) == 0.104


def test_ft_top2_counts_the_tied_embeddings(medium):
    # R19: top 2 blocks + ln_f + wte = 76.7M (21.6%) in the anchor with top_layers=2
    assert 76.0e6 < medium["ft-top2"]["trainable_params"] < 77.5e6
