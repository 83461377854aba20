"""How long runs will take on this machine, measured from the runs already finished (torch-free).

    python -m benchmark run --grid lowdata --scale quick --dry-run   # ends with the estimate

Every results CSV of the results folder gives, per finished run (status ok or superseded), the
seconds of one training step per training example (`train_seconds / steps / batch_size`: a step's
time scales with its batch) and the decode seconds per input and beam (`decode_seconds /
eval_size / num_beams`). A spec is estimated from the median rates of the finished runs most like
it: the same model, method and dataset; else the same model and method; else the same model; none
of the model: no estimate. Its time is

    load + steps x batch_size x train rate + eval inputs x num_beams x decode rate

with steps `train.max_steps`, or `train.epochs` x ceil(training pairs / batch_size), and eval inputs
`eval_limit`, or the largest `eval_size` recorded for the dataset's split (a limited run scores
fewer, so the largest is the best guess of the whole split). Model loading is not recorded, so a
fixed allowance is added per run (`LOAD_SECONDS`); data loading, scoring and writing the outputs
are not recorded either and are not counted (a few seconds a run for the table-to-text metrics).
"""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import ResultsError
from benchmark.paper import TRAIN_PAIRS
from benchmark.run.store import read_rows
from benchmark.spec import RunSpec

FINISHED = ("ok", "superseded")  # a superseded row's times were measured all the same
LOAD_SECONDS = {
    "smollm2-135m": 20.0,  # models.py: the GGUF read and de-quantised, ~17 s (once per process)
}
TINY_LOAD_SECONDS = 1.0  # tiny-* test models are built in code
OTHER_LOAD_SECONDS = 20.0  # a hub checkpoint read from the local cache: a guess of the same order


@dataclass(frozen=True)
class Measured:
    """What one finished run measured."""

    model: str
    method: str
    dataset: str
    eval_split: str
    eval_size: int
    train_size: int
    train_pairs: int | None  # recorded by newer rows
    train_seconds_per_example: float  # one step's seconds over its batch size
    decode_seconds_per_input_beam: float
    source: str  # results CSV and run id, for messages


@dataclass(frozen=True)
class Estimate:
    seconds: float
    measured_from: tuple[Measured, ...]  # the finished runs whose median rates it used


def load_seconds(model: str) -> float:
    if model in LOAD_SECONDS:
        return LOAD_SECONDS[model]
    return TINY_LOAD_SECONDS if model.startswith("tiny-") else OTHER_LOAD_SECONDS


def _measured(row: dict[str, str], csv_name: str) -> Measured | None:
    """The row's rates, or None when it is not finished or lacks a time it needs."""
    if row.get("status") not in FINISHED:
        return None
    try:
        batch = int(json.loads(row["train_config"])["batch_size"])
        beams = int(json.loads(row["decode_config"])["num_beams"])
        steps, eval_size = int(row["steps"]), int(row["eval_size"])
        train_seconds, decode_seconds = float(row["train_seconds"]), float(row["decode_seconds"])
        pairs = int(row["train_pairs"]) if row.get("train_pairs") else None
        measured = Measured(
            model=row["model"],
            method=row["method"],
            dataset=row["dataset"],
            eval_split=row.get("eval_split") or "test",
            eval_size=eval_size,
            train_size=int(row.get("train_size") or 0),
            train_pairs=pairs,
            train_seconds_per_example=train_seconds / steps / batch,
            decode_seconds_per_input_beam=decode_seconds / eval_size / beams,
            source=f"{csv_name}: {row.get('run_id')}",
        )
    except (KeyError, ValueError, TypeError, ZeroDivisionError):  # json errors are ValueErrors
        return None
    rates = (measured.train_seconds_per_example, measured.decode_seconds_per_input_beam)
    return measured if all(math.isfinite(r) and r >= 0 for r in rates) else None


def measure(results_dir: Path) -> list[Measured]:
    """The finished runs of every results CSV in `results_dir` (a damaged CSV is skipped here:
    the commands that write or report it say what is wrong)."""
    found = []
    for path in sorted(results_dir.glob("*.csv")):
        try:
            rows = read_rows(path)
        except ResultsError:
            continue
        found += [m for m in (_measured(r, path.name) for r in rows) if m is not None]
    return found


def _closest(spec: RunSpec, measured: list[Measured]) -> list[Measured]:
    for level in (
        lambda m: (m.model, m.method, m.dataset) == (spec.model, spec.method, spec.dataset),
        lambda m: (m.model, m.method) == (spec.model, spec.method),
        lambda m: m.model == spec.model,
    ):
        alike = [m for m in measured if level(m)]
        if alike:
            return alike
    return []


def _training_pairs(spec: RunSpec, measured: list[Measured]) -> int | None:
    pairs = spec.train_size or TRAIN_PAIRS.get(spec.dataset)
    if not pairs:  # a split sized by its data (the XSUM extrapolation splits): as recorded
        pairs = max(
            (
                m.train_pairs or 0
                for m in measured
                if (m.dataset, m.train_size) == (spec.dataset, 0)
            ),
            default=0,
        )
    if not pairs:
        return None
    if spec.train_fraction is not None:  # sampling.fraction_size
        pairs = max(1, round(spec.train_fraction * pairs))
    return pairs


def steps_of(spec: RunSpec, measured: list[Measured]) -> int | None:
    """The optimiser steps `spec` will take (None: its training set's size is not known yet)."""
    if spec.train.epochs is None:
        return spec.train.max_steps
    pairs = _training_pairs(spec, measured)
    return None if pairs is None else spec.train.for_training_set(pairs).max_steps


def eval_inputs(spec: RunSpec, measured: list[Measured]) -> int | None:
    if spec.eval_limit is not None:
        return spec.eval_limit
    sizes = [
        m.eval_size
        for m in measured
        if (m.dataset, m.eval_split) == (spec.dataset, spec.eval_split)
    ]
    return max(sizes) if sizes else None


def explain(spec: RunSpec, measured: list[Measured]) -> Estimate | str:
    """The estimate for `spec`, or why there is none (one line)."""
    alike = _closest(spec, measured)
    if not alike:
        return f"no finished run of {spec.model} to measure from"
    steps = steps_of(spec, measured)
    if steps is None:
        return f"no finished run of {spec.dataset} to count its training pairs from"
    inputs = eval_inputs(spec, measured)
    if inputs is None:
        return f"no finished run of {spec.dataset} to size its {spec.eval_split} split from"
    per_example = statistics.median(m.train_seconds_per_example for m in alike)
    per_input_beam = statistics.median(m.decode_seconds_per_input_beam for m in alike)
    seconds = (
        load_seconds(spec.model)
        + steps * spec.train.batch_size * per_example
        + inputs * spec.decode.num_beams * per_input_beam
    )
    return Estimate(seconds, tuple(alike))


def estimate(spec: RunSpec, measured: list[Measured]) -> Estimate | None:
    """Seconds `spec` should take on this machine, or None when nothing finished matches it."""
    found = explain(spec, measured)
    return found if isinstance(found, Estimate) else None


def rough(seconds: float) -> str:
    """A duration to the minute: 40s, 7m, 1h12m."""
    if seconds < 60:
        return f"{max(1, round(seconds))}s"
    minutes = round(seconds / 60)
    return f"{minutes}m" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"


@dataclass
class Plan:
    """The estimates of a list of runs to do, for the dry-run listing."""

    results_dir: Path
    found: dict[int, Estimate | str] = field(default_factory=dict)  # by id() of the spec

    def suffix(self, spec: RunSpec) -> str:
        """` ~7m` for a run to do that has an estimate, else ''."""
        found = self.found.get(id(spec))
        return f" ~{rough(found.seconds)}" if isinstance(found, Estimate) else ""

    def summary(self) -> list[str]:
        if not self.found:
            return []
        known = [f for f in self.found.values() if isinstance(f, Estimate)]
        missing: dict[str, int] = {}
        for f in self.found.values():
            if isinstance(f, str):
                missing[f] = missing.get(f, 0) + 1
        lines = []
        if known:
            total = sum(f.seconds for f in known)
            used = len({id(m) for f in known for m in f.measured_from})
            todo = len(self.found)
            which = f"the {todo}" if not missing else f"{len(known)} of the {todo}"
            lines.append(
                f"estimated wall time for {which} {_runs(todo)} to do: {rough(total)} at the "
                f"training and decoding rates of {used} finished {_runs(used)} in "
                f"{self.results_dir.name}/ (rates of the machine that ran them; scoring not counted)"
            )
        lines += [
            f"no estimate: {why}" + (f" ({count} {_runs(count)})" if count > 1 else "")
            for why, count in missing.items()
        ]
        return lines


def _runs(count: int) -> str:
    return "run" if count == 1 else "runs"


def plan(todo: list[RunSpec], results_dir: Path) -> Plan:
    measured = measure(results_dir)
    return Plan(results_dir, {id(s): explain(s, measured) for s in todo})
