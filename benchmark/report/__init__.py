"""Results CSVs in, tables and figures out.

Reads only CSV files (results written by the runner, and the paper's reference numbers through
`benchmark.paper`); never imports torch or a model, so a report runs in about a second.
"""

from __future__ import annotations

import pandas as pd

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
