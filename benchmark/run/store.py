"""The results store: one CSV per grid (`results/<grid>.csv`), one row per finished run.

Rows are written through a temporary file and an atomic rename, so an interrupted write leaves the
old CSV. A run is done when a row with its run id, scale, model and config hash has status ok. A
run redone under another config (its recipe changed) marks the earlier row `superseded` and keeps
it, numbers and outputs both (each config writes its own outputs folder).
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

from benchmark.spec import RunSpec

COLUMNS = [
    "run_id", "config_hash", "grid", "scale", "dataset", "dataset_version", "data_sha256",
    "eval_split", "eval_size", "method", "variant", "method_config", "model", "model_source",
    "train_size", "train_fraction", "train_pairs", "subset", "seed", "lm_params", "trainable_params", "trainable_pct",
    "stored_params", "stored_pct", "bleu", "nist", "meteor", "rouge_l", "cider",
    "empty_outputs", "steps", "best_step", "best_dev_loss", "train_seconds", "decode_seconds",
    "train_config", "decode_config", "scorer", "status", "error", "outputs_dir", "finished_at",
    "versions", "git_sha",
]  # fmt: skip

SUPERSEDED = "superseded"
RUN_KEY = ("run_id", "scale", "model")  # one run; its config hash says which recipe made a row


def results_path(results_dir: Path, grid: str) -> Path:
    return results_dir / f"{grid}.csv"


def outputs_dir(results_dir: Path, spec: RunSpec) -> Path:
    """Where a run's files go: one folder per run id and config hash, so a run redone under a new
    config never overwrites the files of the row it supersedes."""
    return (
        results_dir / "runs" / spec.grid / spec.scale / spec.model / spec.run_id / spec.config_hash
    )


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


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
    """Rewrite the CSV with the new row through a temporary file and an atomic rename."""
    rows = read_rows(path)
    mark_superseded(rows, row)
    write_rows(path, [*rows, {k: cell(v) for k, v in row.items()}])


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write every row through a temporary file and an atomic rename (no half-written CSV)."""
    columns = list(COLUMNS)
    for existing in rows:
        columns += [c for c in existing if c not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def cell(value: Any) -> Any:
    """A value as the CSV stores it: floats to 4 decimals (or 6 significant digits), containers
    as sorted JSON, None as an empty cell."""
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.4f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return "" if value is None else value
