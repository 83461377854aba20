"""The results store: one CSV per grid (`results/<grid>.csv`), one row per finished run.

Rows are written under a lock (`filelock`, one per CSV) through a temporary file of the writer's own
and an atomic rename, so any number of runners can append to one CSV: an interrupted write leaves
the old CSV, and no row is lost to a concurrent writer. Reading checks the header and every row's
field count; a damaged CSV is an error naming its line, never rewritten. A run is done when a row with its run id, scale, model and config hash has status ok. A
run redone under another config (its recipe changed) marks the earlier row `superseded` and keeps
it, numbers and outputs both (each config writes its own outputs folder).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock

from benchmark.errors import ResultsError
from benchmark.spec import RunSpec

COLUMNS = [
    "run_id", "config_hash", "grid", "scale", "dataset", "dataset_version", "data_sha256",
    "eval_split", "eval_size", "method", "variant", "method_config", "model", "model_source",
    "train_size", "train_fraction", "train_pairs", "subset", "seed", "lm_params", "trainable_params", "trainable_pct",
    "stored_params", "stored_pct", "bleu", "nist", "meteor", "rouge_l", "cider",
    "empty_outputs", "steps", "best_step", "best_dev_loss", "converged", "dev_loss_change",
    "best_step_fraction", "train_seconds", "decode_seconds", "device", "reused_from",
    "train_config", "decode_config", "scorer", "status", "error", "outputs_dir", "finished_at",
    "versions", "git_sha",
]  # fmt: skip

SUPERSEDED = "superseded"
RUN_KEY = ("run_id", "scale", "model")  # one run; its config hash says which recipe made a row
REQUIRED = ("run_id", "config_hash", "grid", "scale", "model", "status")  # what `is_done` reads


# free space a run may need: its stored parameters (at most 50M float32 numbers = 200 MB) and text
MIN_FREE_BYTES = 250 * 1024**2


def check_results_dir(results_dir: Path) -> None:
    """Refuse, before any work, a results folder that cannot be created, is not writable or has
    too little room for a run's outputs (one line naming the folder)."""
    try:
        results_dir.mkdir(parents=True, exist_ok=True)
        probe = results_dir / f".write-test-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise ResultsError(
            f"results folder {results_dir} is not writable ({err.strerror or err}); "
            "pass --results-dir DIR with a folder you can write"
        ) from err
    free = shutil.disk_usage(results_dir).free
    if free < MIN_FREE_BYTES:
        raise ResultsError(
            f"results folder {results_dir} has {free / 1024**2:.0f} MB free; a run may store up "
            f"to {MIN_FREE_BYTES / 1024**2:.0f} MB (free some space or pass --results-dir DIR)"
        )


def results_path(results_dir: Path, grid: str) -> Path:
    return results_dir / f"{grid}.csv"


def outputs_dir(results_dir: Path, spec: RunSpec) -> Path:
    """Where a run's files go: one folder per run id and config hash, so a run redone under a new
    config never overwrites the files of the row it supersedes."""
    return (
        results_dir / "runs" / spec.grid / spec.scale / spec.model / spec.run_id / spec.config_hash
    )


def is_results_csv(path: Path) -> bool:
    """Whether `path` is a results CSV of a grid (its header has the runner's columns), not one of
    the other tables a results folder holds (`speed.csv`, `speed-threads.csv`)."""
    with open(path, newline="", encoding="utf-8") as f:
        header = next(csv.reader(f), None)
    return header is not None and all(c in header for c in REQUIRED)


def read_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a results CSV ([] when there is none yet).

    Raises:
        ResultsError: the header lacks a column the runner needs, or a row has more or fewer
            fields than the header (the message names the file and line).
    """
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None:
            return []
        missing = [c for c in REQUIRED if c not in header]
        if missing:
            raise ResultsError(
                f"{path}: the header lacks {', '.join(missing)}; this is not a results CSV of the "
                "suite (or it was edited by hand): restore it from git or move it away"
            )
        rows = []
        for record in reader:
            if not record:
                continue
            if len(record) != len(header):
                raise ResultsError(
                    f"{path}, line {reader.line_num}: {len(record)} fields where the header has "
                    f"{len(header)}; fix or delete that line (the file was not changed)"
                )
            rows.append(dict(zip(header, record)))
    return rows


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold the CSV's lock: one writer at a time reads, changes and rewrites it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(path.with_name(path.name + ".lock"), thread_local=False):
        yield


def is_done(rows: list[dict[str, str]], spec: RunSpec) -> bool:
    return any(
        r.get("run_id") == spec.run_id
        and r.get("scale") == spec.scale
        and r.get("model") == spec.model
        and r.get("config_hash") == spec.config_hash
        and r.get("status") == "ok"
        for r in rows
    )


def mark_superseded(rows: list[dict[str, str]], row: dict[str, Any]) -> None:
    """Mark the finished rows of the same run under another config superseded (kept, with their
    outputs), so reports count only the run's newest result."""
    if row.get("status") != "ok":
        return
    for old in rows:
        same_run = all(old.get(k) == str(row.get(k)) for k in RUN_KEY)
        if same_run and old.get("status") == "ok" and old.get("config_hash") != row["config_hash"]:
            old["status"] = SUPERSEDED
            old["error"] = f"redone as config {row['config_hash']}; numbers and outputs kept"


def stale_rows(rows: list[dict[str, str]], specs: list[RunSpec]) -> list[dict[str, str]]:
    """Finished rows of this grid, scale and model whose run the grid no longer has.

    A recipe change that renames runs (e.g. a quick pool of 1,000 pairs cut to 500 turns
    `n=1000` runs into `n=500` ones) leaves the old rows `ok`; reports would then average both
    recipes at each point. `specs` must be the grid's complete run list for one scale and model.
    """
    if not specs:
        return []
    grid, scale, model = specs[0].grid, specs[0].scale, specs[0].model
    current = {spec.run_id for spec in specs}
    return [
        row
        for row in rows
        if (row.get("grid"), row.get("scale"), row.get("model")) == (grid, scale, model)
        and row.get("status") == "ok"
        and row.get("run_id") not in current
    ]


def retire_stale_rows(path: Path, specs: list[RunSpec]) -> int:
    """Mark `stale_rows` superseded in the CSV (numbers and outputs kept); return how many."""
    with locked(path):
        rows = read_rows(path)
        stale = stale_rows(rows, specs)
        for row in stale:
            row["status"] = SUPERSEDED
            row["error"] = (
                f"no longer in the {row['scale']} recipe of grid {row['grid']} (recipe changed); "
                "numbers and outputs kept"
            )
        if stale:
            write_rows(path, rows)
    return len(stale)


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Add a row (and mark the rows it supersedes) under the CSV's lock."""
    with locked(path):
        rows = read_rows(path)
        mark_superseded(rows, row)
        write_rows(path, [*rows, {k: cell(v) for k, v in row.items()}])


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write every row through this writer's own temporary file and an atomic rename (no
    half-written CSV). Callers hold `locked(path)`."""
    columns = list(COLUMNS)
    for existing in rows:
        columns += [c for c in existing if c not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as err:
        tmp.unlink(missing_ok=True)
        raise ResultsError(f"cannot write {path}: {err.strerror or err}") from err


def cell(value: Any) -> Any:
    """A value as the CSV stores it: floats to 4 decimals (or 6 significant digits), containers
    as sorted JSON, None as an empty cell."""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.4f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return "" if value is None else value
