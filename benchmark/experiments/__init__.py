"""Experiments: one file per paper table or figure, each a grid of runs at three scales.

    python -m benchmark ls grids
    python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
    python -m benchmark run --grid table2 --scale paper --dry-run     # list runs and what is done

Scales: `paper` = the paper's full protocol; `quick` = a reduced version for a 2-core CPU with the
embedded model, each grid within the hour; `smoke` = tiny random models, seconds, for tests. Rows
are tagged with their scale (and model), so scales never mix in tables or figures.

A new experiment is one file here with ``EXPERIMENT = Experiment(...)`` and one line
``REGISTER = {"name": ("EXPERIMENT", "summary")}``; grid names follow the ACL camera-ready's
numbering (grid `table2` is ACL Table 2). Torch-free: building and listing runs loads no model.
"""

from benchmark.registry import Registry

GRIDS: Registry = Registry("grid", discover=__name__)
GRIDS.alias("table1", "table2")  # arXiv v1 numbering, used by this suite until 2026-12
