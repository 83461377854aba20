"""ACL Figure 5: random vs real-word prefix initialisation, low-data E2E at 100 examples (the
low-data recipe of `lowdata`, its subsets and seeds).

    python -m benchmark run --grid init --scale quick --data-dir ../shared/data   # ~37 min
"""

from __future__ import annotations

from benchmark import paper
from benchmark.experiments.recipes import ALL_SCALES, LOWDATA_SCALES, Experiment, lowdata_run
from benchmark.spec import RunSpec

WORDS = {
    "paper": paper.INIT_WORDS,
    # the two task words and two unrelated ones (9 runs would be ~56 min on 2 CPU cores)
    "quick": ("table-to-text:", "summarize", "elephant", "divide"),
    "protocol": ("table-to-text:",),  # random against the paper's low-data words, 10 units
    "smoke": ("table-to-text:",),
}


def runs(scale: str, model: str | None = None) -> list[RunSpec]:
    recipe = LOWDATA_SCALES[scale]
    random = {"init_text": None, "prefix_len": paper.INIT_RANDOM_LEN}
    inits = [(None, random)] + [(word, {"init_text": word}) for word in WORDS[scale]]
    return [
        lowdata_run(
            "init",
            scale,
            "prefix",
            paper.INIT_SIZE,
            subset,
            seed,
            model,
            options=options,
            variant=paper.init_label(word),
        )
        # the random runs first: a real-word run at 100 pairs is the low-data grid's prefix run
        # (recorded from it, `run/reuse.py`), so a runner started beside the low-data grid's
        # trains its own runs before it reaches the ones it may reuse; units in the low-data
        # grid's order, so two runners stopped early leave the same units done
        for word, options in inits
        for subset in range(recipe.subsets)
        for seed in range(recipe.seeds)
    ]


EXPERIMENT = Experiment(runs, "ACL Figure 5", scales=ALL_SCALES)
REGISTER = {
    "init": (
        "EXPERIMENT",
        "Figure 5: prefix initialisation, random vs real words, low-data E2E (100 examples)",
    )
}
