"""ACL Figure 6: fine-tune vs prefix-tuning (random init) on 10/20/40/60/80% of the E2E training
set, with E2E's ACL Table 6 settings and epochs.

    python -m benchmark run --grid data-efficiency --scale quick --data-dir ../shared/data  # ~38 min

Quick: the fractions of a 500-pair sample (the `table2` quick sample, its 150-pair dev split), one
epoch, 100 test MRs. A 1,000-pair sample (300-pair dev split) took 66 min 27 s for the 10 runs
here, over the hour a quick grid may take.
"""

from __future__ import annotations

from benchmark import paper
from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

FRACTIONS = {"paper": paper.DATA_FRACTIONS, "quick": paper.DATA_FRACTIONS, "smoke": (0.2, 0.8)}
POOL = {"paper": 0, "quick": 500, "smoke": 50}  # training pairs sampled first; 0: the whole split
EPOCHS = {"paper": None, "quick": 1, "smoke": 1}  # None: the row's ACL Table 6 epochs
ROWS = (("fine-tune", "fine-tune"), ("prefix-0.1%", "prefix"))  # (paper row, run label)


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [
        fulldata_run(
            "data-efficiency",
            scale,
            row,
            "e2e",
            model=model,
            label=label,
            train_size=POOL[scale],
            epochs=EPOCHS[scale] or paper.row_settings(row, "e2e")[2][1],
            train_fraction=fraction,
        )
        for fraction in FRACTIONS[scale]
        for row, label in ROWS
    ]


EXPERIMENT = Experiment(runs, "ACL Figure 6")
REGISTER = {
    "data-efficiency": (
        "EXPERIMENT",
        "Figure 6: fine-tune vs prefix on 10/20/40/60/80% of E2E",
    )
}
