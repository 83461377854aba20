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
    train_size: int  # 0: the whole training split; else a low-data sample of this size
    subset: int
    seed: int
    train: TrainConfig
    decode: DecodeConfig
    method_options: dict[str, Any] = field(default_factory=dict)
    eval_split: str = "test"
    eval_limit: int | None = None  # score the first N inputs of eval_split (None: all)
    variant: str = ""  # the paper's row label (e.g. "adapter-0.1%"); defaults to the method

    @property
    def label(self) -> str:
        return self.variant or self.method

    @property
    def run_id(self) -> str:
        """Readable and deterministic: e2e/prefix/n=100/subset=2/seed=1 (+ config hash column)."""
        size = self.train_size or "full"
        return f"{self.dataset}/{self.label}/n={size}/subset={self.subset}/seed={self.seed}"

    def resolved(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def config_hash(self) -> str:
        # the variant is a label (already in run_id); it does not change any number
        numbers = {k: v for k, v in self.resolved().items() if k != "variant"}
        blob = json.dumps(_drop_switched_off(numbers), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:10]


# Options added after results were recorded, with the value that means "off". Leaving them out of
# the hash while off keeps earlier rows valid: an option that is off cannot have changed a number.
SWITCHED_OFF = {"min_new_tokens": 0, "no_repeat_ngram_size": 0}


def _drop_switched_off(config: Any) -> Any:
    if isinstance(config, dict):
        return {
            k: _drop_switched_off(v)
            for k, v in config.items()
            if not (k in SWITCHED_OFF and v == SWITCHED_OFF[k])
        }
    return config


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
    # under 30 min on 2 CPU cores: 2 sizes x 1 subset x 1 seed, half the paper's steps, the first
    # 100 test MRs. Same learning rate, batch, init and decoding as the paper.
    "quick": ScaleRecipe(
        sizes=(50, 100),
        subsets=1,
        seeds=1,
        step_factor=0.5,
        eval_every=25,
        eval_limit=100,
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


# ---- full-data tables (ACL Table 2 / 5) ----------------------------------------------------------

# ACL Table 6 (= arXiv v1 Table 5): learning rate, epochs, batch size and prefix length per
# (paper row, dataset). The paper's "0.1%" prefix is P=5 on E2E/WebNLG and P=10 on DART (ACL fn 7).
TABLE6: dict[tuple[str, str], tuple[float, int, int]] = {
    ("prefix-0.1%", "e2e"): (8e-5, 5, 10),
    ("prefix-0.1%", "webnlg"): (5e-5, 5, 5),
    ("prefix-0.1%", "dart"): (5e-5, 10, 5),
    ("adapter-3%", "e2e"): (5e-5, 5, 5),
    ("adapter-3%", "webnlg"): (5e-5, 5, 5),
    ("adapter-3%", "dart"): (5e-5, 5, 5),
    ("adapter-0.1%", "e2e"): (8e-5, 10, 5),
    ("adapter-0.1%", "webnlg"): (5e-5, 10, 5),
    ("adapter-0.1%", "dart"): (8e-5, 5, 5),
    ("fine-tune", "e2e"): (5e-5, 5, 10),
    ("fine-tune", "webnlg"): (1e-5, 10, 6),
    ("fine-tune", "dart"): (1e-5, 10, 6),
    ("ft-top2", "e2e"): (5e-5, 5, 10),
    ("ft-top2", "webnlg"): (5e-5, 10, 9),
    ("ft-top2", "dart"): (5e-5, 5, 5),
}
TABLE6_PREFIX_LEN = {"e2e": 5, "webnlg": 5, "dart": 10}  # ACL Table 6 prefix length column
TRAIN_PAIRS = {"e2e": 42_061, "webnlg": 18_025, "dart": 62_659}  # steps = ceil(N / batch) x epochs

# paper row -> (our method, options); prefix options per dataset are added in `_variant`
VARIANTS: dict[str, tuple[str, dict[str, Any]]] = {
    "fine-tune": ("finetune", {}),
    "ft-top2": ("ft-top2", {}),
    "adapter-3%": ("adapter", {"adapter_pct": 3.0}),
    "adapter-0.1%": ("adapter", {"adapter_pct": 0.1}),
    "prefix-0.1%": ("prefix", {}),
    "prefix": ("prefix", {}),
    **{f"emb-{k}": ("embedding-only", {"prefix_len": k}) for k in (1, 10, 20)},
    **{f"infix-{k}": ("infix", {"prefix_len": k}) for k in (1, 10, 20)},
}


@dataclass(frozen=True)
class FullDataRecipe:
    train_size: int | None  # None: the whole training split; else a low-data-style sample
    max_steps: int | None  # None: the paper's epochs x ceil(N / batch)
    eval_every: int
    eval_limit: int | None
    decode: DecodeConfig
    model: str


FULLDATA_SCALES = {
    "paper": FullDataRecipe(None, None, 500, None, DecodeConfig(), DEFAULT_MODEL),
    # ~6 min a run on 2 CPU cores: 500 training pairs (subset 0, its 150-pair dev split), 100 steps
    # at the paper's learning rate and batch, the first 200 test inputs
    "quick": FullDataRecipe(500, 100, 50, 200, DecodeConfig(batch_size=32), DEFAULT_MODEL),
    "smoke": FullDataRecipe(
        50, 2, 2, 6, DecodeConfig(num_beams=2, max_new_tokens=12, batch_size=4), "tiny-gpt2"
    ),
}


def _variant(variant: str, dataset: str) -> tuple[str, dict[str, Any], tuple[float, int, int]]:
    method, options = VARIANTS[variant]
    options = dict(options)
    if method == "prefix":
        options.setdefault("prefix_len", TABLE6_PREFIX_LEN[dataset])  # random init (full data)
    # rows outside Table 6 (the ablation table) use E2E prefix-tuning's settings
    settings = TABLE6.get((variant, dataset), TABLE6[("prefix-0.1%", dataset)])
    return method, options, settings


def fulldata_run(
    grid: str, scale: str, variant: str, dataset: str, seed: int = 0, model: str | None = None
) -> RunSpec:
    recipe = FULLDATA_SCALES[scale]
    method, options, (lr, epochs, batch) = _variant(variant, dataset)
    if recipe.max_steps is not None:
        steps = recipe.max_steps
    else:
        steps = -(-TRAIN_PAIRS[dataset] // batch) * epochs
    return RunSpec(
        grid=grid,
        scale=scale,
        dataset=dataset,
        method=method,
        model=model or recipe.model,
        train_size=recipe.train_size or 0,  # 0: the whole training split
        subset=0,
        seed=seed,
        train=TrainConfig(
            lr=lr,
            batch_size=batch,
            max_steps=steps,
            warmup_steps=0,  # anchor: warmup is only forwarded in low-data runs
            eval_every=recipe.eval_every,
            seed=seed,
        ),
        decode=recipe.decode,
        method_options=options,
        eval_limit=recipe.eval_limit,
        variant=variant,
    )


TABLE1_DATASETS = {"paper": ("e2e", "webnlg", "dart"), "quick": ("e2e",), "smoke": ("e2e",)}


def table1_grid(scale: str, model: str | None = None) -> list[RunSpec]:
    """ACL Table 2 (v1 Table 1): five methods on E2E, WebNLG and DART (quick: the E2E column)."""
    return [
        fulldata_run("table1", scale, variant, dataset, model=model)
        for dataset in TABLE1_DATASETS[scale]
        for variant in ("fine-tune", "ft-top2", "adapter-3%", "adapter-0.1%", "prefix-0.1%")
    ]


def intrinsic_grid(scale: str, model: str | None = None) -> list[RunSpec]:
    """ACL Table 5 (v1 Table 4): EMB-1/10/20 and INFIX-1/10/20 against prefix-tuning, on E2E."""
    variants = ("prefix", "emb-1", "emb-10", "emb-20", "infix-1", "infix-10", "infix-20")
    return [fulldata_run("intrinsic", scale, v, "e2e", model=model) for v in variants]


# Figure 5 (ACL; v1 Fig. 5): low-data E2E with 100 examples, prefix initialised from these words
INIT_WORDS = (
    "active", "elephant", "summarize", "table-to-text:", "banana", "beautiful", "divide", "keep",
)  # fmt: skip


def init_grid(scale: str, model: str | None = None) -> list[RunSpec]:
    """Figure 5: random vs real-word prefix initialisation, low-data E2E at 100 examples."""
    recipe = LOWDATA_SCALES[scale]
    specs = []
    for seed in range(recipe.seeds):
        for subset in range(recipe.subsets):
            base = lowdata_run("init", scale, "prefix", 100, subset, seed, model)
            random = {"init_text": None, "prefix_len": 5}  # E2E prefix length (ACL Table 6)
            specs.append(dataclasses.replace(base, method_options=random, variant="init-random"))
            for word in INIT_WORDS:
                label = "init-" + word.rstrip(":")  # file-system-safe run ids
                options = {"init_text": word}
                specs.append(dataclasses.replace(base, method_options=options, variant=label))
    return specs


GRIDS.register(
    "table1",
    GridSpec(table1_grid, "ACL Table 2 (v1 Table 1)"),
    "ACL Table 2: fine-tune, FT-top2, adapter 3%/0.1%, prefix on E2E/WebNLG/DART",
)
GRIDS.register(
    "intrinsic",
    GridSpec(intrinsic_grid, "ACL Table 5 (v1 Table 4)"),
    "ACL Table 5: embedding-only and infix (k = 1, 10, 20) vs prefix, E2E",
)
GRIDS.register(
    "init",
    GridSpec(init_grid, "ACL Figure 5"),
    "Figure 5: prefix initialisation, random vs real words, low-data E2E (100 examples)",
)
