"""How an experiment turns the paper's settings into runs: the low-data recipe and the full-data
(paper table row) recipe, each with its scales, and the summarisation settings that XSUM runs get.

Every setting is decided while a `RunSpec` is built, once; nothing is patched afterwards.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from benchmark import paper
from benchmark.errors import ConfigError
from benchmark.spec import DecodeConfig, RunSpec, TrainConfig

SCALES = ("smoke", "quick", "paper")  # every grid has these
# the low-data grids also have `protocol`: the paper's 5 subsets x 2 seeds at the quick recipe
LOWDATA_ONLY_SCALES = ("protocol",)
ALL_SCALES = SCALES + LOWDATA_ONLY_SCALES
DEFAULT_MODEL = "smollm2-135m"  # embedded and offline; the paper used GPT-2 medium (hub)


@dataclass(frozen=True)
class Experiment:
    """A registered grid: `build(scale, model)` -> its runs; what of the paper it reproduces."""

    build: Callable[[str, str | None], list[RunSpec]]
    reproduces: str
    scales: tuple[str, ...] = SCALES

    def specs(self, scale: str, model: str | None = None) -> list[RunSpec]:
        """The grid's runs at `scale` (a clear error for a scale this grid does not have)."""
        if scale not in self.scales:
            raise ConfigError(
                f"this grid has no scale {scale!r} (it has {', '.join(self.scales)}); "
                f"`protocol` exists for the low-data grids only"
            )
        return self.build(scale, model)


@dataclass(frozen=True)
class Summarisation:
    """What XSUM runs (XSUM and its extrapolation splits) get at one scale, on top of the scale's
    recipe: the paper's source/target lengths, XSUM decoding, a prefix MLP of width 800, and at
    reduced scales caps on size, batch, steps and evaluation (None: no cap)."""

    decode: dict[str, Any]  # XSUM decoding; batch_size None: the scale's decode batch
    model: str | None = None  # None: the scale's model
    max_train_size: int | None = None
    max_batch: int | None = None
    steps: int | None = None  # a fixed step budget (replaces epochs and caps max_steps)
    max_eval_every: int | None = None
    max_eval_limit: int | None = None


XSUM_PAPER = Summarisation(decode={**paper.XSUM_DECODE, "batch_size": None})
XSUM_SMOKE = Summarisation(
    decode=dict(
        num_beams=2,
        max_new_tokens=12,
        batch_size=4,
        length_penalty=0.8,
        min_new_tokens=2,
        no_repeat_ngram_size=3,
        early_stopping=True,
    ),
    model="tiny-bart",  # the paper's XSUM model is BART; `--model` overrides
)
# quick XSUM on 2 CPU cores. Measured with SmolLM2-135M (512-token sources): a fine-tune step at
# batch 8 takes ~40 s and beam-6 decoding ~4.5 s an article, so 40 steps at batch 8 on 100 test
# articles was ~35 min a run (~2 h for `table3`). Now: a 100-article sample (its 30-article dev
# split, checked every 10 steps), 20 steps at batch 4, the first 50 test articles.
XSUM_QUICK = Summarisation(
    decode={**paper.XSUM_DECODE, "batch_size": None},
    max_train_size=100,
    max_batch=4,
    steps=20,
    max_eval_every=10,
    max_eval_limit=50,
)


def _cap(value: int | None, cap: int | None) -> int | None:
    return value if cap is None or value is None else min(value, cap)


def _build(
    *,
    grid: str,
    scale: str,
    dataset: str,
    method: str,
    model: str | None,
    scale_model: str,
    train_size: int,
    subset: int,
    seed: int,
    train: dict[str, Any],
    decode: DecodeConfig,
    options: dict[str, Any],
    eval_limit: int | None,
    summarisation: Summarisation,
    variant: str = "",
    train_fraction: float | None = None,
) -> RunSpec:
    """One RunSpec; for XSUM datasets with the scale's `summarisation` settings folded in."""
    if dataset in paper.SUMMARISATION:
        xsum = summarisation
        train = dict(
            train,
            max_source_tokens=paper.XSUM_SOURCE_TOKENS,
            max_target_tokens=paper.XSUM_TARGET_TOKENS,
        )
        batch = xsum.decode["batch_size"] or decode.batch_size
        decode = DecodeConfig(**{**xsum.decode, "batch_size": batch})
        if xsum.steps is not None:
            steps = train["max_steps"]
            train["max_steps"] = xsum.steps if train.get("epochs") else min(steps, xsum.steps)
            train["epochs"] = None
        train["batch_size"] = _cap(train["batch_size"], xsum.max_batch)
        train["eval_every"] = _cap(train["eval_every"], xsum.max_eval_every)
        if xsum.max_eval_limit is not None:
            eval_limit = min(eval_limit or xsum.max_eval_limit, xsum.max_eval_limit)
        if xsum.max_train_size is not None:
            train_size = min(train_size or xsum.max_train_size, xsum.max_train_size)
        if method == "prefix":
            options = {"mid_dim": paper.XSUM_MID_DIM, **options}
        scale_model = xsum.model or scale_model
    return RunSpec(
        grid=grid,
        scale=scale,
        dataset=dataset,
        method=method,
        model=model or scale_model,
        train_size=train_size,
        subset=subset,
        seed=seed,
        train=TrainConfig(**train),
        decode=decode,
        method_options=options,
        eval_limit=eval_limit,
        variant=variant,
        train_fraction=train_fraction,
    )


# ---- the low-data recipe (paper §6.3, ACL A.2 and Table 8) ------------------------------------


@dataclass(frozen=True)
class LowDataScale:
    sizes: tuple[int, ...]
    subsets: int
    seeds: int
    step_factor: float  # multiplies the paper's max steps and warmup
    eval_every: int
    eval_limit: int | None
    decode: DecodeConfig
    model: str
    methods: tuple[str, ...] = ("finetune", "prefix")
    datasets: tuple[str, ...] = ("e2e",)
    summarisation: Summarisation = field(default=XSUM_PAPER)


LOWDATA_SCALES = {
    "paper": LowDataScale(
        sizes=paper.LOWDATA_SIZES,
        subsets=paper.LOWDATA_SUBSETS,
        seeds=paper.LOWDATA_SEEDS,
        step_factor=1.0,
        eval_every=50,  # anchor --eval_steps default
        eval_limit=None,  # all 630 test MRs
        decode=DecodeConfig(),
        model=DEFAULT_MODEL,
        datasets=("e2e", "xsum"),  # paper §6.3: both panels of Figure 3
    ),
    # E2E only (XSUM has no training articles offline); ~24 min on 2 CPU cores: 2 sizes x 1 subset
    # x 1 seed, half the paper's steps, the first 100 test MRs. Same learning rate, batch, init and
    # decoding as the paper.
    "quick": LowDataScale(
        sizes=(50, 100),
        subsets=1,
        seeds=1,
        step_factor=0.5,
        eval_every=25,
        eval_limit=100,
        decode=DecodeConfig(batch_size=32),
        model=DEFAULT_MODEL,
        summarisation=XSUM_QUICK,
    ),
    # the paper's protocol at its two smallest sizes: 5 subsets x 2 seeds (its 10 models per
    # point, ACL §6.3) x 2 methods x 2 sizes = 40 runs, the paper's step budget (ACL Table 8:
    # fine-tune 100, prefix 200 steps; at quick's half budget fine-tuning at 100 pairs was still
    # improving by 12% at its last dev check), quick's evaluation (the first 100 test MRs);
    # ~8 min a run on 2 CPU cores
    "protocol": LowDataScale(
        sizes=(50, 100),
        subsets=paper.LOWDATA_SUBSETS,
        seeds=paper.LOWDATA_SEEDS,
        step_factor=1.0,
        eval_every=25,
        eval_limit=100,
        decode=DecodeConfig(batch_size=32),
        model=DEFAULT_MODEL,
        summarisation=XSUM_QUICK,
    ),
    "smoke": LowDataScale(
        sizes=(50,),
        subsets=1,
        seeds=1,
        step_factor=0.02,  # 4 / 2 steps
        eval_every=2,
        eval_limit=6,
        decode=DecodeConfig(num_beams=2, max_new_tokens=12, batch_size=4),
        model="tiny-gpt2",
        summarisation=XSUM_SMOKE,
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
    options: dict[str, Any] | None = None,
    variant: str = "",
) -> RunSpec:
    """One run of the low-data recipe (also the recipe of ad-hoc `--method/--train-size` runs);
    `options` replace the recipe's method options (e.g. another prefix initialisation)."""
    recipe = LOWDATA_SCALES[scale]
    paper_steps, batch = paper.lowdata_steps_and_batch(method, dataset, train_size)
    init = paper.XSUM_PREFIX_INIT if dataset in paper.SUMMARISATION else paper.LOWDATA_PREFIX_INIT
    if options is None:
        options = {"init_text": init} if method == "prefix" else {}
    return _build(
        grid=grid,
        scale=scale,
        dataset=dataset,
        method=method,
        model=model,
        scale_model=recipe.model,
        train_size=train_size,
        subset=subset,
        seed=seed,
        train=dict(
            lr=paper.LOWDATA_LR,
            batch_size=batch,
            max_steps=max(2, round(paper_steps * recipe.step_factor)),  # Table 8 x step_factor
            warmup_steps=round(paper.LOWDATA_WARMUP * recipe.step_factor),
            eval_every=recipe.eval_every,
            seed=seed,
        ),
        decode=recipe.decode,
        options=options,
        eval_limit=recipe.eval_limit,
        summarisation=recipe.summarisation,
        variant=variant,
    )


def adhoc_runs(
    scale: str,
    methods: list[str],
    datasets: list[str],
    train_sizes: list[int],
    seeds: list[int],
    subsets: list[int],
    model: str | None,
) -> list[RunSpec]:
    """Runs from `--method/--dataset/--train-size/--seed/--subset` lists, low-data recipe."""
    return [
        lowdata_run("adhoc", scale, method, size, subset, seed, model, dataset)
        for dataset in datasets
        for size in train_sizes
        for method in methods
        for subset in subsets
        for seed in seeds
    ]


# ---- the full-data recipe: a paper table row's settings (ACL Table 6) --------------------------


@dataclass(frozen=True)
class FullDataScale:
    train_size: int | None  # None: the whole training split; else a low-data-style sample
    max_steps: int | None  # None: `epochs`, else the paper's epochs, x ceil(N / batch)
    eval_every: int
    eval_limit: int | None
    decode: DecodeConfig
    model: str
    epochs: int | None = None  # passes over the training sample (None: the paper's epochs)
    summarisation: Summarisation = field(default=XSUM_PAPER)


FULLDATA_SCALES = {
    "paper": FullDataScale(None, None, 500, None, DecodeConfig(), DEFAULT_MODEL),
    # ~5 min a run on 2 CPU cores: one pass over 500 training pairs (subset 0, its 150-pair dev
    # split) at the paper's learning rate and batch (50 steps at batch 10, 100 at batch 5), dev
    # loss every 25 steps, the first 100 test inputs. An earlier recipe (100 steps, 200 inputs)
    # took ~80 min for the 7 intrinsic runs, over the hour a quick grid may take.
    "quick": FullDataScale(
        500,
        None,
        25,
        100,
        DecodeConfig(batch_size=32),
        DEFAULT_MODEL,
        epochs=1,
        summarisation=XSUM_QUICK,
    ),
    "smoke": FullDataScale(
        50,
        2,
        2,
        6,
        DecodeConfig(num_beams=2, max_new_tokens=12, batch_size=4),
        "tiny-gpt2",
        summarisation=XSUM_SMOKE,
    ),
}


def fulldata_run(
    grid: str,
    scale: str,
    row: str,
    dataset: str,
    seed: int = 0,
    model: str | None = None,
    options: dict[str, Any] | None = None,
    label: str | None = None,
    train_size: int | None = None,
    epochs: int | None = None,
    train_fraction: float | None = None,
) -> RunSpec:
    """One run with a paper table row's settings. `options` override the row's method options,
    `label` its name (e.g. `prefix-len-20`); `train_size` / `epochs` replace the scale's (Figure 6:
    fractions of a pool, counted in epochs)."""
    recipe = FULLDATA_SCALES[scale]
    method, row_options, (lr, paper_epochs, batch) = paper.row_settings(row, dataset)
    if epochs is not None:  # resolved against the training set when the run starts
        steps, count_epochs = 0, epochs
    elif recipe.max_steps is not None:
        steps, count_epochs = recipe.max_steps, None
    elif recipe.epochs is not None:
        steps, count_epochs = 0, recipe.epochs
    elif dataset in paper.TRAIN_PAIRS:
        steps, count_epochs = math.ceil(paper.TRAIN_PAIRS[dataset] / batch) * paper_epochs, None
    else:
        steps, count_epochs = 0, paper_epochs
    size = recipe.train_size if train_size is None else train_size
    return _build(
        grid=grid,
        scale=scale,
        dataset=dataset,
        method=method,
        model=model,
        scale_model=recipe.model,
        train_size=size or 0,  # 0: the whole training split
        subset=0,
        seed=seed,
        train=dict(
            lr=lr,
            batch_size=batch,
            max_steps=steps,
            epochs=count_epochs,
            warmup_steps=0,  # anchor: warmup is only forwarded in low-data runs
            eval_every=recipe.eval_every,
            seed=seed,
        ),
        decode=recipe.decode,
        options={**row_options, **(options or {})},
        eval_limit=recipe.eval_limit,
        summarisation=recipe.summarisation,
        variant=label or row,
        train_fraction=train_fraction,
    )
