"""Executors: where a grid's runs execute. `local` runs them in this process (or `workers`
processes); `submitit-local` and `slurm` submit each run as one task of a job array through
submitit. Every executor runs the same unit (`grid.run_one`), so claims keep any mix of them safe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.spec import RunSpec

EXECUTORS = ("local", "submitit-local", "slurm")


@dataclass(frozen=True)
class ExecutorOptions:
    workers: int = 1  # local and submitit-local: runs at once on this machine
    partition: str | None = None  # slurm: --partition (None: the cluster's default)
    gpus_per_run: int = 0
    cpus_per_run: int | None = None  # None: this machine's cores / workers (local), 2 (slurm)
    time_min: int = 120  # slurm: each task's time limit; a task killed by it is requeued
    max_parallel: int | None = None  # slurm: --array=...%N
    setup: tuple[str, ...] = ()  # slurm: shell lines run before each task (module load, venv)
    wait: bool = True  # wait for the jobs with a progress line, else return after submitting


def launch(
    executor: str,
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    options: ExecutorOptions,
    complete_grid: bool = False,
    retry_failed: bool = False,
) -> int:
    """Run the runs of `specs` that are not done on `executor` (the same selection and messages
    as `grid.run_specs`); return how many failed."""
    raise NotImplementedError(executor)
