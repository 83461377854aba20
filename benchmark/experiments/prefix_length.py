"""ACL Figure 4: prefix-tuning at several prefix lengths, each dataset's ACL Table 6 prefix
settings; the search ranges of ACL A.2 (table-to-text on DART, summarisation on XSUM).

    python -m benchmark run --grid prefix-length --scale quick --data-dir ../shared/data  # ~43 min

Quick runs the table-to-text range on E2E (DART has no training file offline).
"""

from __future__ import annotations

from benchmark import paper
from benchmark.experiments.recipes import Experiment, fulldata_run
from benchmark.spec import RunSpec

LENGTHS = {  # scale -> dataset -> prefix lengths
    "paper": {"dart": paper.PREFIX_LENGTHS["dart"], "xsum": paper.PREFIX_LENGTHS["xsum"]},
    "quick": {"e2e": paper.PREFIX_LENGTHS["e2e"]},
    "smoke": {"e2e": (1, 5)},
}


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    return [
        fulldata_run(
            "prefix-length",
            scale,
            paper.PREFIX_ROW[dataset],
            dataset,
            model=model,
            options={"prefix_len": length},
            label=f"prefix-len-{length}",
        )
        for dataset, lengths in LENGTHS[scale].items()
        for length in lengths
    ]


EXPERIMENT = Experiment(runs, "ACL Figure 4")
REGISTER = {
    "prefix-length": (
        "EXPERIMENT",
        "Figure 4: prefix length 1-40 (DART; E2E at quick) and 1-300 (XSUM)",
    )
}
