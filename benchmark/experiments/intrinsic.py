"""ACL Table 5 (arXiv v1 Table 4): embedding-only (EMB-1/10/20) and infix (INFIX-1/10/20) against
prefix-tuning on E2E, each with E2E's prefix-tuning settings (ACL Table 6).

    python -m benchmark run --grid intrinsic --scale quick --data-dir ../shared/data   # ~50 min
"""

from __future__ import annotations

from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

ALL_ROWS = ("prefix", "emb-1", "emb-10", "emb-20", "infix-1", "infix-10", "infix-20")
ROWS = {
    "paper": ALL_ROWS,
    "quick": ALL_ROWS,
    "smoke": ("prefix", "emb-1", "infix-1"),  # one of each method keeps the test suite short
}


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [fulldata_run("intrinsic", scale, row, "e2e", model=model) for row in ROWS[scale]]


EXPERIMENT = Experiment(runs, "ACL Table 5 (v1 Table 4)")
REGISTER = {
    "intrinsic": (
        "EXPERIMENT",
        "ACL Table 5: embedding-only and infix (k = 1, 10, 20) vs prefix, E2E",
    )
}
