"""ACL Table 3 (arXiv v1 Table 2): XSUM fine-tune vs prefix-tuning 2% (P=100) and 0.1% (P=5).

    python -m benchmark run --grid table3 --scale quick --data-dir ../shared/data

Needs XSUM training and validation articles (`<data dir>/xsum/train.jsonl`, `validation.jsonl`),
which the offline copy lacks. Quick was timed on a stand-in at 26 min 41 s (README).
"""

from __future__ import annotations

from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

ROWS = ("fine-tune", "prefix-2%", "prefix-0.1%")


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [fulldata_run("table3", scale, row, "xsum", model=model) for row in ROWS]


EXPERIMENT = Experiment(runs, "ACL Table 3 (v1 Table 2)")
REGISTER = {
    "table3": (
        "EXPERIMENT",
        "ACL Table 3: XSUM fine-tune vs prefix 2% / 0.1% (needs XSUM training articles)",
    )
}
