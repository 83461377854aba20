"""ACL Table 2 (arXiv v1 Table 1): fine-tune, FT-top2, adapter 3% / 0.1% and prefix-tuning on
E2E, WebNLG and DART, each row with its ACL Table 6 settings.

    python -m benchmark run --grid table2 --scale quick --data-dir ../shared/data   # ~57 min
    python -m benchmark tables                               # tables/table2_{e2e,webnlg,dart}.md

Quick: the E2E column, and WebNLG's fine-tune and prefix rows (the paper's claim there is
prefix-tuning's lead on unseen categories; 50 seen + 50 unseen test inputs). The other three
WebNLG rows would take the grid past the hour (E2E 32 min + these two 26 min here). DART needs its
training file (`fetch dart`), so it runs at paper scale only.
"""

from __future__ import annotations

from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

ROWS = ("fine-tune", "ft-top2", "adapter-3%", "adapter-0.1%", "prefix-0.1%")
COLUMNS = {  # scale -> dataset -> paper rows
    "paper": {"e2e": ROWS, "webnlg": ROWS, "dart": ROWS},
    "quick": {"e2e": ROWS, "webnlg": ("fine-tune", "prefix-0.1%")},
    "smoke": {"e2e": ROWS},
}


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [
        fulldata_run("table2", scale, row, dataset, model=model)
        for dataset, rows in COLUMNS[scale].items()
        for row in rows
    ]


EXPERIMENT = Experiment(runs, "ACL Table 2 (v1 Table 1)")
REGISTER = {
    "table2": (
        "EXPERIMENT",
        "ACL Table 2: fine-tune, FT-top2, adapter 3%/0.1%, prefix on E2E/WebNLG/DART",
    )
}
