"""Run a list of specs resumably: skip what is done, run the rest one after another, append a row
after each, print progress with an ETA."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

from benchmark.run.store import (
    append_row,
    is_done,
    read_rows,
    results_path,
    retire_stale_rows,
    stale_rows,
)
from benchmark.spec import RunSpec


def run_specs(
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    dry_run: bool = False,
    progress: bool | None = None,
    complete_grid: bool = False,
) -> int:
    """Run every spec not yet done; return the number of failed runs. Dry-run only lists them.

    `complete_grid`: `specs` is a named grid's whole run list for its scale and model (no option
    changed), so finished rows of runs it no longer has are marked superseded first.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    if not specs:
        print("no runs selected")
        return 0
    grid = specs[0].grid
    path = results_path(results_dir, grid)
    rows = read_rows(path)
    todo = [s for s in specs if not is_done(rows, s)]
    print(f"{grid}: {len(specs)} runs, {len(specs) - len(todo)} done, {len(todo)} to run -> {path}")
    stale = stale_rows(rows, specs) if complete_grid else []
    if dry_run:
        for s in specs:
            state = "done" if s not in todo else "todo"
            print(f"  [{state}] {s.scale:5s} {s.model:14s} {s.run_id}  ({s.config_hash})")
        for row in stale:
            print(
                f"  [stale] {row['scale']:5s} {row['model']:14s} {row['run_id']}  (not in the grid "
                "any more; a real run marks it superseded)"
            )
        return 0
    if stale:
        retire_stale_rows(path, specs)
        print(
            f"{grid}: marked {len(stale)} finished row(s) superseded: their runs are no longer in "
            f"the {specs[0].scale} recipe (numbers and outputs kept)"
        )
    from benchmark.data import DATASETS
    from benchmark.run.execute import execute

    failed = 0
    started = time.perf_counter()
    for i, spec in enumerate(todo, 1):
        elapsed = time.perf_counter() - started
        eta = "" if i == 1 else f", ETA {_fmt(elapsed / (i - 1) * (len(todo) - i + 1))}"
        print(f"[{i}/{len(todo)}] {spec.scale} {spec.model} {spec.run_id}{eta}", flush=True)
        row = execute(spec, data_dir, results_dir, progress)
        append_row(path, row)
        if row["status"] != "ok":
            failed += 1
            print(f"  failed: {row['error']}", file=sys.stderr, flush=True)
        else:
            metrics = DATASETS.get(spec.dataset).metrics
            shown = "  ".join(f"{m} {_short(row.get(m))}" for m in metrics)
            print(
                f"  {shown}  train {_fmt(row['train_seconds'])}  "
                f"decode {_fmt(row['decode_seconds'])}",
                flush=True,
            )
    print(
        f"{grid}: finished {len(todo) - failed} run(s), {failed} failed, "
        f"in {_fmt(time.perf_counter() - started)}"
    )
    return failed


def _short(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
