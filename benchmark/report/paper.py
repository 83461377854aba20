"""The paper's published numbers, packaged as `reference_results.csv`.

Usage::

    from benchmark.report.paper import load_reference_results
    acl = load_reference_results()  # ACL 2021 camera-ready (canonical)
    v1 = load_reference_results("arXiv-v1")

The CSV is a copy of the curated table described in setup.md §0b: one row per printed cell, with
`value` kept exactly as printed. The two paper versions differ in some cells (setup.md §0), so
every lookup chooses one version.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

PAPER_VERSIONS = ("ACL2021", "arXiv-v1")  # setup.md §0: ACL camera-ready / arXiv 2101.00190v1
DEFAULT_PAPER_VERSION = "ACL2021"  # setup.md §0 recommends the published version as canonical

REFERENCE_CSV = "reference_results.csv"


def load_reference_results(version: str = DEFAULT_PAPER_VERSION) -> pd.DataFrame:
    """Rows of the packaged reference table for one paper version.

    Columns: source, model, dataset, split_or_setting, method, metric, value (string, as printed),
    approximate (bool), note, plus `value_num` (float; NaN where the value is not a number).

    Raises:
        ValueError: `version` is not one of PAPER_VERSIONS.
    """
    if version not in PAPER_VERSIONS:
        raise ValueError(f"unknown paper version {version!r}; expected one of {PAPER_VERSIONS}")
    with resources.files(__package__).joinpath(REFERENCE_CSV).open("r", encoding="utf-8") as f:
        # Strings throughout: values are printed numbers ("0.30" must stay "0.30").
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    # "ACL2021 Table 2" / "arXiv-v1 Sec 6.3 text": the version is the first word of `source`.
    table = table[table["source"].str.split(" ", n=1).str[0] == version].reset_index(drop=True)
    table["approximate"] = table["approximate"].str.lower() == "true"
    table["value_num"] = pd.to_numeric(table["value"], errors="coerce")
    return table
