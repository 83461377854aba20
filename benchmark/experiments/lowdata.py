"""ACL Figure 3: low-data fine-tune vs prefix-tuning at 50/100/200/500 examples, 5 subsets x 2
seeds (E2E; XSUM too at paper scale), prefix initialised with "table-to-text:" / "summarize".

    python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data   # ~24 min
    python -m benchmark run --grid lowdata --scale protocol ...  # 5 subsets x 2 seeds, 40 runs
    python -m benchmark plot                                 # figures/lowdata_e2e.png
"""

from __future__ import annotations

from benchmark.experiments.recipes import ALL_SCALES, LOWDATA_SCALES, Experiment, lowdata_run
from benchmark.spec import RunSpec


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    recipe = LOWDATA_SCALES[scale]
    return [
        lowdata_run("lowdata", scale, method, size, subset, seed, model, dataset)
        for dataset in recipe.datasets
        for size in recipe.sizes
        for subset in range(recipe.subsets)
        for seed in range(recipe.seeds)
        for method in recipe.methods  # innermost: a grid stopped early leaves paired units
    ]


EXPERIMENT = Experiment(runs, "ACL Figure 3", scales=ALL_SCALES)
REGISTER = {
    "lowdata": (
        "EXPERIMENT",
        "Figure 3: low-data prefix vs fine-tune, 50-500 examples (E2E; + XSUM at paper scale)",
    )
}
