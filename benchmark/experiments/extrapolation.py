"""ACL Table 4 (arXiv v1 Table 3): XSUM extrapolation, news-to-sports and within-news, fine-tune
vs prefix-tuning with their ACL Table 6 settings.

    python -m benchmark run --grid extrapolation --scale quick --data-dir ../shared/data

Needs the XSUM training articles and the BBC URL list (topics). Quick was timed on a stand-in at
42 min 56 s (README).
"""

from __future__ import annotations

from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

DATASETS = ("xsum-news2sports", "xsum-withinnews")
ROWS = ("fine-tune", "prefix")


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [
        fulldata_run("extrapolation", scale, row, dataset, model=model)
        for dataset in DATASETS
        for row in ROWS
    ]


EXPERIMENT = Experiment(runs, "ACL Table 4 (v1 Table 3)")
REGISTER = {
    "extrapolation": (
        "EXPERIMENT",
        "ACL Table 4: XSUM news-to-sports and within-news extrapolation (needs the BBC URL list)",
    )
}
