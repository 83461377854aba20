"""One recipe, one training: a run whose recipe another grid of the same results folder already
finished is recorded from that run instead of being trained again.

Grids share runs: ACL Figure 5's "table-to-text:" prefix at 100 pairs (`init`) is Figure 3's
prefix run at 100 pairs (`lowdata`), subset for subset and seed for seed; an ad-hoc
`--method prefix --train-size 50` is the low-data grid's run. Two runs share a recipe when their
specs agree on everything but the grid and the row label (`RunSpec.recipe_hash`), read from the
donor's own run.json, never guessed from CSV cells.

The new row is the donor's numbers, outputs folder and provenance (git commit, versions, timings)
under this grid's run id and config hash, with `reused_from` naming the donor
(`grid:run_id@config_hash`). `run --no-reuse` trains such runs anyway (and `verify` reruns a grid
in a scratch folder, where nothing can be reused).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmark.run.provenance import now
from benchmark.run.store import is_results_csv, read_rows
from benchmark.spec import RunSpec, spec_from_dict

# the cells that must agree before a donor's run.json is read (a cheap filter, not the test)
SAME_CELLS = ("model", "scale", "dataset", "method", "train_size", "subset", "seed")


def same_recipe(results_dir: Path, spec: RunSpec) -> dict[str, str] | None:
    """The newest finished row of another grid in `results_dir` that ran `spec`'s recipe."""
    return donor_finder(results_dir, spec.grid)(spec)


def donor_finder(results_dir: Path, grid: str) -> Callable[[RunSpec], dict[str, str] | None]:
    """`same_recipe` for many specs of `grid`: the other grids' CSVs are read once, when this is
    called (a run that finishes later is not seen; `run_one` looks again before it trains)."""
    rows = [
        row
        for path in sorted(results_dir.glob("*.csv"))
        if path.stem != grid and is_results_csv(path)  # not this grid, nor the speed tables
        for row in reversed(read_rows(path))
    ]
    return lambda spec: _first_donor(results_dir, rows, spec)


def _first_donor(
    results_dir: Path, rows: list[dict[str, str]], spec: RunSpec
) -> dict[str, str] | None:
    wanted = spec.recipe_hash
    for row in rows:
        if row.get("status") != "ok" or row.get("reused_from"):
            continue  # only runs trained in their own right donate
        if any(row.get(c, "") != str(getattr(spec, c)) for c in SAME_CELLS):
            continue
        donor = _spec_of(results_dir, row)
        if donor is not None and donor.recipe_hash == wanted:
            return row
    return None


def _spec_of(results_dir: Path, row: dict[str, str]) -> RunSpec | None:
    info = results_dir / row.get("outputs_dir", "") / "run.json"
    if not row.get("outputs_dir") or not info.is_file():
        return None
    try:
        return spec_from_dict(json.loads(info.read_text(encoding="utf-8"))["spec"])
    except (ValueError, KeyError, TypeError):  # a damaged or older run.json donates nothing
        return None


def reused_row(spec: RunSpec, donor: dict[str, str]) -> dict[str, Any]:
    """`spec`'s row from the donor's: its numbers and outputs under this grid's names."""
    return {
        **donor,
        "run_id": spec.run_id,
        "config_hash": spec.config_hash,
        "grid": spec.grid,
        "variant": spec.label,
        "reused_from": f"{donor['grid']}:{donor['run_id']}@{donor['config_hash']}",
        "finished_at": now(),
    }
