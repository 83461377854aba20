"""Results CSVs in, tables and figures out.

Reads only CSV files (results written by the runner, and the paper's reference numbers through
`benchmark.paper`); never imports torch or a model, so a report runs in about a second.

Reports never overwrite what they did not read: reading the project's own results/, they write
the project's tables/ and figures/ and rewrite README.md's blocks; reading any other results
folder, they write into `<that folder>/tables/` and `<that folder>/figures/` and leave every
README alone, unless --out / --readme say otherwise (`Outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.paths import default_dir

RUN_KEY = ("run_id", "scale", "model")


def latest_finished(table: pd.DataFrame) -> pd.DataFrame:
    """The finished rows (status ok) a report should use: for each run (run id, scale, model) only
    the newest row. A run redone after its recipe changed appends a row with a new config hash and
    keeps the old one (no recorded result is dropped from the CSV); reports count the new one once
    instead of averaging the two recipes."""
    if table.empty or "status" not in table.columns:
        return table.iloc[0:0]
    finished = table[table["status"].str.strip() == "ok"]
    key = [column for column in RUN_KEY if column in finished.columns]
    if "run_id" not in key:  # rows without run ids (hand-written fixtures) are all kept
        return finished
    return finished.drop_duplicates(subset=key, keep="last")


@dataclass(frozen=True)
class Outputs:
    """Where a report reads and writes."""

    results: Path
    out: Path  # tables or figures folder
    readme: Path | None  # None: no README is rewritten
    own: bool  # True: the results are the project's own results/


def outputs(
    results_dir: str | None, out: str | None, kind: str, readme: str | None = None
) -> Outputs:
    """The folders of a report (`kind`: "tables" or "figures") from its command-line options: the
    project's own results/ -> the project's `kind` folder and README.md; another results folder
    -> `<it>/<kind>/` and no README, unless `out` / `readme` are given."""
    results = Path(results_dir) if results_dir else default_dir("results")
    own = results.resolve() == default_dir("results").resolve()
    default_out = default_dir(kind) if own else results / kind
    if readme:
        chosen: Path | None = Path(readme)
    else:
        chosen = default_dir("README.md") if own else None
    return Outputs(results, Path(out) if out else default_out, chosen, own)
