"""Whether a run had finished learning: the convergence rule every report applies.

The rule: a run is **converged** when it has at least two dev-loss checks and the relative
improvement between its last two checks, ``(previous - last) / previous``, is below 1%
(``CONVERGED_BELOW``). A dev loss that rose or stayed flat at the end counts as converged: more
steps would not have helped that run. With fewer than two checks the rule cannot say (``None``).
``best_step_fraction = best_step / steps``: where in its training the kept parameters were found
(1.0: at the last step, as a run that was still improving).

    from benchmark.report.convergence import add_convergence, convergence
    convergence([(25, 1.97), (50, 1.79)], steps=50, best_step=50)   # converged=False, 9% change
    add_convergence(table, Path("results"))    # reports: adds converged, dev_loss_change, ...

New rows carry ``converged``, ``dev_loss_change`` and ``best_step_fraction`` (the runner calls
`convergence`); rows written before those columns existed get them from ``dev_losses`` in their
``<results dir>/<outputs_dir>/run.json``, by the same function. Reads JSON and CSV cells only.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

CONVERGED_BELOW = 0.01  # relative improvement of the last dev check under 1%: flattened
COLUMNS = ("converged", "dev_loss_change", "best_step_fraction")  # the CSV columns of this rule


@dataclass(frozen=True)
class Convergence:
    converged: bool | None  # None: fewer than two dev checks, the rule cannot say
    last_change: float | None  # relative improvement of the last check; negative: the loss rose
    best_step_fraction: float | None  # best_step / steps; None without a step count

    def cells(self) -> dict[str, str]:
        """The three CSV cells: "True" / "False" / "" and the two numbers ("" when unknown)."""
        return {
            "converged": "" if self.converged is None else str(self.converged),
            "dev_loss_change": "" if self.last_change is None else f"{self.last_change:.6f}",
            "best_step_fraction": ""
            if self.best_step_fraction is None
            else f"{self.best_step_fraction:.4f}",
        }


def convergence(
    dev_losses: Sequence[Sequence[float]], steps: int | None, best_step: int | None
) -> Convergence:
    """Apply the rule to a run's dev-loss checks, ``[(step, loss), ...]`` in step order."""
    fraction = best_step / steps if steps and best_step is not None else None
    losses = [float(loss) for _, loss in dev_losses]
    if len(losses) < 2 or not all(math.isfinite(loss) for loss in losses[-2:]):
        return Convergence(None, None, fraction)
    previous, last = losses[-2], losses[-1]
    change = (previous - last) / previous if previous else 0.0
    return Convergence(change < CONVERGED_BELOW, change, fraction)


def _number(text: object) -> float | None:
    try:
        value = float(str(text))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _dev_losses(results_dir: Path, outputs_dir: str) -> list[list[float]]:
    """``dev_losses`` of a run's run.json; [] where there is none (no outputs, an older run)."""
    if not outputs_dir:
        return []
    try:
        record = json.loads((results_dir / outputs_dir / "run.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return []
    losses = record.get("dev_losses") if isinstance(record, dict) else None
    return losses if isinstance(losses, list) else []


def row_convergence(row: pd.Series, results_dir: Path) -> Convergence:
    """A results row's convergence: its own cells where it has them, else from its run.json."""
    steps, best = _number(row.get("steps", "")), _number(row.get("best_step", ""))
    recorded = str(row.get("converged", "")).strip()
    if recorded in ("True", "False"):
        fraction = _number(row.get("best_step_fraction", ""))
        if fraction is None and steps:
            fraction = best / steps if best is not None else None
        return Convergence(recorded == "True", _number(row.get("dev_loss_change", "")), fraction)
    losses = _dev_losses(results_dir, str(row.get("outputs_dir", "")).strip())
    return convergence(
        losses, int(steps) if steps else None, int(best) if best is not None else None
    )


def add_convergence(table: pd.DataFrame, results_dir: Path) -> pd.DataFrame:
    """`table` with ``converged`` (True / False / None), ``dev_loss_change`` and
    ``best_step_fraction`` (floats, NaN when unknown) for every row."""
    found = [row_convergence(row, results_dir) for _, row in table.iterrows()]
    nan = float("nan")
    return table.assign(
        converged=pd.Series([c.converged for c in found], index=table.index, dtype=object),
        dev_loss_change=[nan if c.last_change is None else c.last_change for c in found],
        best_step_fraction=[
            nan if c.best_step_fraction is None else c.best_step_fraction for c in found
        ],
    )
