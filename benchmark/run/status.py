"""Where a grid stands: done / running / failed / pending / stale, read from the results CSV and
the claims (no torch, no model)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.progress import duration
from benchmark.run.claims import holder
from benchmark.run.grid import last_failure, state
from benchmark.run.store import outputs_dir, read_rows, results_path, stale_rows
from benchmark.spec import RunSpec

STATES = ("done", "running", "failed", "pending", "stale")


@dataclass(frozen=True)
class RunStatus:
    state: str
    run_id: str
    scale: str
    model: str
    config_hash: str
    detail: str  # running: owner, since, last heartbeat; failed: the error and the log


def grid_status(specs: list[RunSpec], results_dir: Path, now: float) -> list[RunStatus]:
    """One entry per run of `specs` (one grid, scale and model), then the stale rows."""
    if not specs:
        return []
    rows = read_rows(results_path(results_dir, specs[0].grid))
    out = []
    for spec in specs:
        current = state(rows, spec, results_dir)
        detail = ""
        if current == "running":
            held = holder(results_dir, spec)
            detail = (
                f"{held.owner}, since {_ago(now - held.since)}, "
                f"heartbeat {_ago(now - held.heartbeat)}"
            )
        elif current == "failed":
            error = (last_failure(rows, spec) or {}).get("error", "")
            log = outputs_dir(results_dir, spec).with_name(
                outputs_dir(results_dir, spec).name + ".log"
            )
            detail = error + (f" (log: {log})" if log.is_file() else "")
        out.append(
            RunStatus(current, spec.run_id, spec.scale, spec.model, spec.config_hash, detail)
        )
    for row in stale_rows(rows, specs):
        detail = "not in the grid any more; the next full run marks it superseded"
        out.append(
            RunStatus(
                "stale", row["run_id"], row["scale"], row["model"], row["config_hash"], detail
            )
        )
    return out


def _ago(seconds: float) -> str:
    return f"{duration(seconds)} ago"
