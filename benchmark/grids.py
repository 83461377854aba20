"""Grids: named sets of runs, each at three scales.

    python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
    python -m benchmark run --grid lowdata --scale paper --dry-run     # list runs and what is done

Scales: `paper` = the paper's full protocol; `quick` = a reduced version that finishes in about half
an hour on a 2-core CPU with the embedded model; `smoke` = a tiny random model, seconds, for tests.
Rows are tagged with their scale (and model), so scales never mix in tables or figures.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmark.data.lowdata import LOWDATA_SEEDS, LOWDATA_SIZES, LOWDATA_SUBSETS
from benchmark.decode import DecodeConfig
from benchmark.registry import GRIDS
from benchmark.train import TrainConfig

SCALES = ("smoke", "quick", "paper")
DEFAULT_MODEL = "smollm2-135m"  # embedded and offline; the paper used GPT-2 medium (hub)


@dataclass(frozen=True)
class RunSpec:
    """Everything that determines one run's numbers."""

    grid: str
    scale: str
    dataset: str
    method: str
    model: str
    train_size: int
    subset: int
    seed: int
    train: TrainConfig
    decode: DecodeConfig
    method_options: dict[str, Any] = field(default_factory=dict)
    eval_split: str = "test"
    eval_limit: int | None = None  # score the first N inputs of eval_split (None: all)

    @property
    def run_id(self) -> str:
        """Readable and deterministic: e2e/prefix/n=100/subset=2/seed=1 (+ config hash column)."""
        return f"{self.dataset}/{self.method}/n={self.train_size}/subset={self.subset}/seed={self.seed}"

    def resolved(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def config_hash(self) -> str:
        blob = json.dumps(self.resolved(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


# ---- the low-data protocol (paper §6.3, ACL A.2 and Table 8) -------------------------------------

# ACL Table 8, table-to-text: maximum update steps for training sizes 50/100/200/500
LOWDATA_MAX_STEPS = {
    "prefix": {50: 200, 100: 200, 200: 200, 500: 400},
    "finetune": {50: 100, 100: 100, 200: 200, 500: 400},
}
LOWDATA_PREFIX_INIT = (
    "table-to-text:"  # ACL A.2: prefix initialised with this phrase (P = 6 tokens)
)


def paper_max_steps(method: str, train_size: int) -> int:
    """ACL Table 8 steps; methods outside the table use fine-tune's, sizes between rows the row
    below (sizes under 50 use the 50 row)."""
    table = LOWDATA_MAX_STEPS.get(method, LOWDATA_MAX_STEPS["finetune"])
    row = max([size for size in table if size <= train_size], default=min(table))
    return table[row]


@dataclass(frozen=True)
class ScaleRecipe:
    sizes: tuple[int, ...]
    subsets: int
    seeds: int
    step_factor: float  # multiplies the paper's max steps and warmup
    eval_every: int
    eval_limit: int | None
    decode: DecodeConfig
    model: str
    methods: tuple[str, ...] = ("finetune", "prefix")


LOWDATA_SCALES = {
    "paper": ScaleRecipe(
        sizes=LOWDATA_SIZES,
        subsets=LOWDATA_SUBSETS,
        seeds=LOWDATA_SEEDS,
        step_factor=1.0,
        eval_every=50,  # anchor --eval_steps default
        eval_limit=None,  # all 630 test MRs
        decode=DecodeConfig(),
        model=DEFAULT_MODEL,
    ),
    # ~25 min on 2 CPU cores: 2 sizes x 1 subset x 1 seed, half the paper's steps, first 200 test
    # MRs. Same learning rate, batch, init and decoding as the paper.
    "quick": ScaleRecipe(
        sizes=(50, 100),
        subsets=1,
        seeds=1,
        step_factor=0.5,
        eval_every=25,
        eval_limit=200,
        decode=DecodeConfig(batch_size=32),
        model=DEFAULT_MODEL,
    ),
    "smoke": ScaleRecipe(
        sizes=(50,),
        subsets=1,
        seeds=1,
        step_factor=0.02,  # 4 / 2 steps
        eval_every=2,
        eval_limit=6,
        decode=DecodeConfig(num_beams=2, max_new_tokens=12, batch_size=4),
        model="tiny-gpt2",
    ),
}


def lowdata_run(
    grid: str,
    scale: str,
    method: str,
    train_size: int,
    subset: int,
    seed: int,
    model: str | None = None,
    dataset: str = "e2e",
) -> RunSpec:
    """One run of the low-data recipe; also used for ad-hoc `--method/--train-size` runs."""
    recipe = LOWDATA_SCALES[scale]
    steps = max(2, round(paper_max_steps(method, train_size) * recipe.step_factor))
    options = {"init_text": LOWDATA_PREFIX_INIT} if method == "prefix" else {}
    return RunSpec(
        grid=grid,
        scale=scale,
        dataset=dataset,
        method=method,
        model=model or recipe.model,
        train_size=train_size,
        subset=subset,
        seed=seed,
        train=TrainConfig(
            lr=5e-5,  # ACL A.2 low-data table-to-text
            batch_size=10,  # ACL A.2
            max_steps=steps,  # ACL Table 8 x step_factor
            warmup_steps=round(100 * recipe.step_factor),  # anchor low-data warmup 100
            eval_every=recipe.eval_every,
            seed=seed,
        ),
        decode=recipe.decode,
        method_options=options,
        eval_limit=recipe.eval_limit,
    )


def lowdata_grid(scale: str, model: str | None = None) -> list[RunSpec]:
    """Figure 3 (E2E panel): fine-tune vs prefix at 50/100/200/500 examples, 5 subsets x 2 seeds."""
    recipe = LOWDATA_SCALES[scale]
    return [
        lowdata_run("lowdata", scale, method, size, subset, seed, model)
        for size in recipe.sizes
        for method in recipe.methods
        for subset in range(recipe.subsets)
        for seed in range(recipe.seeds)
    ]


@dataclass(frozen=True)
class GridSpec:
    build: Callable[[str, str | None], list[RunSpec]]
    reproduces: str


GRIDS.register(
    "lowdata",
    GridSpec(lowdata_grid, "Figure 3 (E2E panel): low-data fine-tune vs prefix"),
    "Figure 3 (E2E): low-data, prefix-tuning vs fine-tuning at 50/100/200/500 examples",
)


def adhoc_grid(
    scale: str,
    methods: list[str],
    datasets: list[str],
    train_sizes: list[int],
    seeds: list[int],
    subsets: list[int],
    model: str | None,
) -> list[RunSpec]:
    """Runs from `--method/--dataset/--train-size/--seed` lists, with the low-data recipe."""
    return [
        lowdata_run("adhoc", scale, method, size, subset, seed, model, dataset)
        for dataset in datasets
        for size in train_sizes
        for method in methods
        for subset in subsets
        for seed in seeds
    ]
