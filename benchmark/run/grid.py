"""Run a list of specs resumably and safely beside other runners: skip what is done, claim each run
before starting it (`claims.py`), append its row under the CSV's lock, print progress with an ETA.

Any number of runners may work on one results folder at once (local workers, Slurm jobs, a second
terminal): a run is done by exactly one of them, and no row is lost.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.progress import duration, run_log
from benchmark.run.claims import claim, holder
from benchmark.run.estimate import plan
from benchmark.run.reuse import donor_finder, reused_row, same_recipe
from benchmark.run.store import (
    is_done,
    outputs_dir,
    read_rows,
    results_path,
    retire_stale_rows,
    stale_rows,
)
from benchmark.spec import RunSpec


@dataclass
class Outcome:
    """What one runner did with its list."""

    finished: int = 0
    failed: int = 0
    elsewhere: list[RunSpec] = field(default_factory=list)  # claimed by another live runner
    trained: int = 0  # of finished + failed: the runs that trained (not recorded from a donor)
    trained_seconds: float = 0.0  # the time they took: the ETA's pace


def last_failure(rows: list[dict[str, str]], spec: RunSpec) -> dict[str, str] | None:
    """The newest row of this run and config if it is a failure (None when there is none or a
    later attempt finished)."""
    mine = [
        r
        for r in rows
        if (r.get("run_id"), r.get("scale"), r.get("model"), r.get("config_hash"))
        == (spec.run_id, spec.scale, spec.model, spec.config_hash)
    ]
    return mine[-1] if mine and mine[-1].get("status") == "failed" else None


def state(rows: list[dict[str, str]], spec: RunSpec, results_dir: Path) -> str:
    """done, running, failed or pending."""
    if is_done(rows, spec):
        return "done"
    held = holder(results_dir, spec)
    if held is not None and held.alive():
        return "running"
    return "failed" if last_failure(rows, spec) else "pending"


@dataclass(frozen=True)
class Execution:
    """How this process executes runs; nothing here enters a config hash or changes a recipe."""

    device: str = "cpu"  # where runs train and decode: cpu, cuda or auto
    # a run whose recipe another grid of the results folder finished is recorded from that run
    # (`reused_from`), not trained again (`run --no-reuse` trains it anyway)
    reuse: bool = True


DEFAULT_EXECUTION = Execution()


def run_one(
    spec: RunSpec,
    data_dir: Path,
    results_dir: Path,
    progress: bool,
    how: Execution = DEFAULT_EXECUTION,
) -> dict | None:
    """Claim, run (or reuse, see `Execution`) and record one spec. Returns its row, or None when
    it was done already or another runner holds it. The unit of work of every executor."""
    from benchmark.run.execute import execute
    from benchmark.run.store import append_row

    path = results_path(results_dir, spec.grid)
    with claim(results_dir, spec) as held:
        if not held or is_done(read_rows(path), spec):  # someone finished it since we listed
            return None
        # progress lines and the run's messages, beside its outputs folder (`status` points at it)
        with run_log(outputs_dir(results_dir, spec).with_suffix(".log"), spec.run_id):
            donor = same_recipe(results_dir, spec) if how.reuse else None
            if donor is not None:
                row = reused_row(spec, donor)
            else:
                row = execute(spec, data_dir, results_dir, progress, how.device)
        append_row(path, row)
        return row


def select(
    specs: list[RunSpec],
    results_dir: Path,
    complete_grid: bool = False,
    retry_failed: bool = False,
    dry_run: bool = False,
    committed_note: bool = False,
    reuse: bool = True,
) -> list[RunSpec]:
    """The runs of `specs` to do, after printing the grid's summary (and, for a dry run, every
    run's state and estimated time, or the finished run of another grid it will be recorded from
    when `reuse`). Every executor selects through here. A complete grid's stale rows are marked
    superseded (listed only, in a dry run)."""
    grid = specs[0].grid
    path = results_path(results_dir, grid)
    rows = read_rows(path)
    states = {id(s): state(rows, s, results_dir) for s in specs}
    wanted = {"pending", "failed"} if retry_failed else {"pending"}
    todo = [s for s in specs if states[id(s)] in wanted]
    counts = {k: sum(v == k for v in states.values()) for k in ("done", "running", "failed")}
    print(
        f"{grid}: {len(specs)} runs, {counts['done']} done, {len(todo)} to run"
        + "".join(f", {counts[k]} {k}" for k in ("running", "failed") if counts[k])
        + f" -> {path}"
    )
    if counts["failed"] and not retry_failed:
        print(f"  {counts['failed']} failed earlier (see `status`); --retry-failed reruns them")
    if committed_note and counts["done"] and not dry_run:
        print(
            f"  the {counts['done']} done run(s) are rows committed with the project ({path.name}); "
            f"`--results-dir DIR` reruns them afresh, and `python -m benchmark verify --grid "
            f"{grid} --scale {specs[0].scale}` reruns them in a scratch folder and compares"
        )
    stale = stale_rows(rows, specs) if complete_grid else []
    find = donor_finder(results_dir, grid) if reuse else lambda spec: None
    donors = {id(s): d for s in todo if (d := find(s)) is not None}
    # the runs recorded from another grid's first (seconds each), then the ones to train: a
    # runner started beside another grid's takes what that one finished before it trains
    todo.sort(key=lambda s: id(s) not in donors)
    if dry_run:
        timing = plan([s for s in todo if id(s) not in donors], results_dir)
        for s in specs:
            donor = donors.get(id(s))
            print(
                f"  [{states[id(s)]}] {s.scale:5s} {s.model:14s} {s.run_id}  ({s.config_hash})"
                + (f" reuses {donor['grid']}:{donor['run_id']}" if donor else timing.suffix(s))
            )
        for row in stale:
            print(
                f"  [stale] {row['scale']:5s} {row['model']:14s} {row['run_id']}  (not in the grid "
                "any more; a real run marks it superseded)"
            )
        for line in timing.summary():
            print(line)
        if donors:
            print(
                f"{len(donors)} run(s) to do have the recipe of a finished run of another grid: "
                "recorded from it, not trained (--no-reuse trains them)"
            )
    elif stale:
        retire_stale_rows(path, specs)
        print(
            f"{grid}: marked {len(stale)} finished row(s) superseded: their runs are no longer in "
            f"the {specs[0].scale} recipe (numbers and outputs kept)"
        )
    return todo


def run_specs(
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    dry_run: bool = False,
    progress: bool | None = None,
    complete_grid: bool = False,
    retry_failed: bool = False,
    committed_note: bool = False,
    how: Execution = DEFAULT_EXECUTION,
) -> int:
    """Run every spec not yet done (`how`: the device, reuse); return the number of failed runs.
    Dry-run only lists them.

    `complete_grid`: `specs` is a named grid's whole run list for its scale and model (no option
    changed), so finished rows of runs it no longer has are marked superseded first.
    `retry_failed`: also rerun runs whose last attempt failed (by default they are listed).
    `committed_note`: `results_dir` is the project's own, so finished runs came with the project.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    if not specs:
        print("no runs selected")
        return 0
    todo = select(
        specs, results_dir, complete_grid, retry_failed, dry_run, committed_note, how.reuse
    )
    if dry_run:
        return 0
    started = time.perf_counter()
    outcome = _run_list(todo, data_dir, results_dir, progress, how)
    if outcome.elsewhere:  # a second pass: a runner that held one of them may have died
        again = _run_list(outcome.elsewhere, data_dir, results_dir, progress, how, quiet=True)
        outcome.finished += again.finished
        outcome.failed += again.failed
        outcome.elsewhere = again.elsewhere
    print(
        f"{specs[0].grid}: finished {outcome.finished} run(s), {outcome.failed} failed, in "
        f"{duration(time.perf_counter() - started)}"
        + (f"; {len(outcome.elsewhere)} still running elsewhere" if outcome.elsewhere else "")
    )
    return outcome.failed


def _run_list(
    todo: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    progress: bool,
    how: Execution = DEFAULT_EXECUTION,
    quiet: bool = False,
) -> Outcome:
    outcome = Outcome()
    for i, spec in enumerate(todo, 1):
        # paced by the trained runs only: a run recorded from another grid's takes seconds
        pace = outcome.trained_seconds / outcome.trained if outcome.trained else None
        eta = f", ETA {duration(pace * (len(todo) - i + 1))}" if pace else ""
        if not quiet:
            print(f"[{i}/{len(todo)}] {spec.scale} {spec.model} {spec.run_id}{eta}", flush=True)
        began = time.perf_counter()
        row = run_one(spec, data_dir, results_dir, progress, how)
        if row is not None and not row.get("reused_from"):
            outcome.trained += 1
            outcome.trained_seconds += time.perf_counter() - began
        if row is None:
            if not is_done(read_rows(results_path(results_dir, spec.grid)), spec):
                outcome.elsewhere.append(spec)
                if not quiet:
                    print("  claimed by another runner; skipped", flush=True)
            continue
        if row["status"] == "ok":
            outcome.finished += 1
        else:
            outcome.failed += 1
        print_result(spec, row)
    return outcome


def print_result(spec: RunSpec, row: dict[str, Any]) -> None:
    """The line under a finished run: its metrics and times, or why it failed (stderr)."""
    from benchmark.data import DATASETS

    if row["status"] != "ok":
        print(f"  failed: {row['error']}", file=sys.stderr, flush=True)
        return
    shown = "  ".join(f"{m} {_short(row.get(m))}" for m in DATASETS.get(spec.dataset).metrics)
    if row.get("reused_from"):
        print(
            f"  {shown}  (the same recipe as {row['reused_from']}: not trained again)", flush=True
        )
        return
    train, decode = duration(row["train_seconds"]), duration(row["decode_seconds"])
    print(f"  {shown}  train {train}  decode {decode}", flush=True)


def _short(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)
