"""The paper's facts, torch-free: its method rows, hyper-parameter tables, protocol constants,
initialisation words, published numbers and the numbering of its tables and figures.

Li & Liang (2021), "Prefix-Tuning: Optimizing Continuous Prompts for Generation", ACL-IJCNLP; the
ACL camera-ready is canonical (setup.md §0), arXiv 2101.00190v1 numbers its tables one lower.

    from benchmark import paper
    paper.ROWS["adapter-0.1%"]            # -> ("adapter", {"adapter_pct": 0.1})
    paper.load_reference_results()        # every printed cell of the ACL version

Experiments (benchmark/experiments/) build runs from these; reports (benchmark/report/) print them
beside ours. This module imports nothing of the project.
"""

from __future__ import annotations

import math
from importlib import resources
from typing import Any

# ---- versions and numbering -----------------------------------------------------------------

PAPER_VERSIONS = ("ACL2021", "arXiv-v1")  # setup.md §0: ACL camera-ready / arXiv 2101.00190v1
DEFAULT_PAPER_VERSION = "ACL2021"  # setup.md §0 recommends the published version as canonical
# ACL table number -> arXiv v1 table number (v1 has no separate Table 1 of method descriptions)
V1_TABLE = {2: 1, 3: 2, 4: 3, 5: 4, 6: 5}
# figures keep their numbers in both versions (v1 Fig. 3-6 = ACL Fig. 3-6)


def table_sources(acl_table: int) -> dict[str, str]:
    """The reference CSV's `source` label of an ACL table, per paper version."""
    return {
        "ACL2021": f"ACL2021 Table {acl_table}",
        "arXiv-v1": f"arXiv-v1 Table {V1_TABLE[acl_table]}",
    }


# ---- method rows: the paper's row label -> (our method, its options) ------------------------

# Labels are the reference table's (`method` column) and our run ids' variant; the method is the
# registry name. The paper's "0.1%" prefix is P=5 on E2E/WebNLG and P=10 on DART (ACL fn 7); the
# prefix length per dataset is added from Table 6 by `row_settings`.
ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "fine-tune": ("finetune", {}),
    "ft-top2": ("ft-top2", {}),
    "adapter-3%": ("adapter", {"adapter_pct": 3.0}),
    "adapter-0.1%": ("adapter", {"adapter_pct": 0.1}),
    "prefix-0.1%": ("prefix", {}),
    "prefix-2%": ("prefix", {}),
    "prefix": ("prefix", {}),
    **{f"emb-{k}": ("embedding-only", {"prefix_len": k}) for k in (1, 10, 20)},
    **{f"infix-{k}": ("infix", {"prefix_len": k}) for k in (1, 10, 20)},
}
# how a method's name is printed in figures and tables (the registry name elsewhere)
DISPLAY = {"finetune": "Fine-tune", "prefix": "Prefix", "ft-top2": "FT-top2"}

# rows whose parameter budget `python -m benchmark params` prints (ACL §5.2, fn 7), with the
# prefix length that gives the paper's percentage
BUDGET_ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "fine-tune": ROWS["fine-tune"],
    "ft-top2": ROWS["ft-top2"],
    "adapter-3%": ROWS["adapter-3%"],
    "adapter-0.1%": ROWS["adapter-0.1%"],
    "prefix-0.1% (P=5)": ("prefix", {"prefix_len": 5}),
    "prefix-0.1% (P=10)": ("prefix", {"prefix_len": 10}),
    "emb-10": ROWS["emb-10"],
    "infix-10": ROWS["infix-10"],
}
# XSUM rows (ACL Table 3): the paper prints "2%" and "0.1%" without the lengths; P=100 is its XSUM
# setting (ACL Table 6) and gives ~1.8% with three prefix groups; P=5 gives ~0.09% (setup.md §3)
SEQ2SEQ_BUDGET_ROWS: dict[str, tuple[str, dict[str, Any]]] = {
    "fine-tune": ROWS["fine-tune"],
    "ft-top2": ROWS["ft-top2"],
    "adapter-3%": ROWS["adapter-3%"],
    "prefix-2% (P=100)": ("prefix", {"prefix_len": 100}),
    "prefix-0.1% (P=5)": ("prefix", {"prefix_len": 5}),
}

# ---- ACL Table 6 (= arXiv v1 Table 5): lr, epochs, batch per (row, dataset) -----------------

TABLE6: dict[tuple[str, str], tuple[float, int, int]] = {
    ("prefix-0.1%", "e2e"): (8e-5, 5, 10),
    ("prefix-0.1%", "webnlg"): (5e-5, 5, 5),
    ("prefix-0.1%", "dart"): (5e-5, 10, 5),
    ("adapter-3%", "e2e"): (5e-5, 5, 5),
    ("adapter-3%", "webnlg"): (5e-5, 5, 5),
    ("adapter-3%", "dart"): (5e-5, 5, 5),
    ("adapter-0.1%", "e2e"): (8e-5, 10, 5),
    ("adapter-0.1%", "webnlg"): (5e-5, 10, 5),
    ("adapter-0.1%", "dart"): (8e-5, 5, 5),
    ("fine-tune", "e2e"): (5e-5, 5, 10),
    ("fine-tune", "webnlg"): (1e-5, 10, 6),
    ("fine-tune", "dart"): (1e-5, 10, 6),
    ("ft-top2", "e2e"): (5e-5, 5, 10),
    ("ft-top2", "webnlg"): (5e-5, 10, 9),
    ("ft-top2", "dart"): (5e-5, 5, 5),
    # XSUM. Prefix 5e-5 / 30 epochs / batch 14 / length 100 (the "2%" row: 100 x 73,728 = 7.37M =
    # 1.8% of BART-large). The paper gives no length for "0.1%"; 5 (368,640 = 0.09%) is the length
    # nearest 0.1% of BART-large (setup.md §3). Table 3's fine-tune row is quoted from BART, so the
    # paper has no fine-tune setting for full XSUM: we use its extrapolation fine-tune setting.
    ("prefix-2%", "xsum"): (5e-5, 30, 14),
    ("prefix-0.1%", "xsum"): (5e-5, 30, 14),
    ("fine-tune", "xsum"): (3e-5, 5, 18),
    ("prefix", "xsum-withinnews"): (5e-5, 30, 36),
    ("fine-tune", "xsum-withinnews"): (3e-5, 5, 18),
    ("prefix", "xsum-news2sports"): (5e-5, 15, 36),
    ("fine-tune", "xsum-news2sports"): (3e-5, 5, 18),
}
TABLE6_PREFIX_LEN: dict[tuple[str, str], int] = {  # ACL Table 6 prefix length column
    ("prefix-0.1%", "e2e"): 5,
    ("prefix-0.1%", "webnlg"): 5,
    ("prefix-0.1%", "dart"): 10,
    ("prefix-2%", "xsum"): 100,
    ("prefix-0.1%", "xsum"): 5,
    ("prefix", "xsum-withinnews"): 80,
    ("prefix", "xsum-news2sports"): 40,
}
# each dataset's prefix-tuning row: its settings serve rows outside the tables (ablations, lengths)
PREFIX_ROW = {
    "e2e": "prefix-0.1%",
    "webnlg": "prefix-0.1%",
    "dart": "prefix-0.1%",
    "xsum": "prefix-2%",
    "xsum-withinnews": "prefix",
    "xsum-news2sports": "prefix",
}
# training pairs of each full training split (steps = ceil(N / batch) x epochs); the extrapolation
# splits are sized by the BBC URL list, so their runs count pairs when they start
TRAIN_PAIRS = {"e2e": 42_061, "webnlg": 18_025, "dart": 62_659, "xsum": 204_045}


def row_settings(row: str, dataset: str) -> tuple[str, dict[str, Any], tuple[float, int, int]]:
    """(method, options, (lr, epochs, batch)) of a paper row on a dataset. Prefix rows get their
    Table 6 prefix length (random init, full data); rows outside Table 6 (ablations) use the
    dataset's prefix row's settings."""
    method, options = ROWS[row]
    options = dict(options)
    if method == "prefix":
        length = (
            TABLE6_PREFIX_LEN.get((row, dataset))
            or TABLE6_PREFIX_LEN[(PREFIX_ROW[dataset], dataset)]
        )
        options.setdefault("prefix_len", length)
    key = (row, dataset) if (row, dataset) in TABLE6 else (PREFIX_ROW[dataset], dataset)
    return method, options, TABLE6[key]


# ---- the low-data protocol (§6.3, ACL A.2 and Table 8) -----------------------------------

LOWDATA_SIZES = (50, 100, 200, 500)  # paper §6.3 / Figure 3: training sizes
LOWDATA_SUBSETS = 5  # paper §6.3 / ACL fn 9: 5 different subsets per size
LOWDATA_SEEDS = 2  # paper ACL fn 9: 2 training seeds per subset -> 10 models averaged
LOWDATA_LR = 5e-5  # ACL A.2 low-data, both tasks
LOWDATA_BATCH = 10  # ACL A.2 table-to-text
LOWDATA_WARMUP = 100  # anchor/ACL A.2 low-data warmup
# ACL Table 8, table-to-text: maximum update steps for training sizes 50/100/200/500
LOWDATA_MAX_STEPS = {
    "prefix": {50: 200, 100: 200, 200: 200, 500: 400},
    "finetune": {50: 100, 100: 100, 200: 200, 500: 400},
}
# ACL Table 8, summarisation: epochs for sizes 50/100/200/500; ACL A.2: batch 5 (prefix), 6 (FT)
LOWDATA_XSUM_EPOCHS = {
    "prefix": {50: 30, 100: 20, 200: 20, 500: 20},
    "finetune": {50: 30, 100: 10, 200: 3, 500: 3},
}
LOWDATA_XSUM_BATCH = {"prefix": 5, "finetune": 6}
LOWDATA_PREFIX_INIT = "table-to-text:"  # ACL A.2: table-to-text prefix init (P = 6 tokens)
XSUM_PREFIX_INIT = "summarize"  # ACL A.2: low-data summarisation prefix initialised with this


def table8_entry(table: dict[str, dict[int, int]], method: str, train_size: int) -> int:
    """A per-size Table 8 entry: methods outside the table use fine-tune's row, sizes between rows
    the row below (sizes under the smallest use the smallest)."""
    column = table.get(method, table["finetune"])
    row = max([size for size in column if size <= train_size], default=min(column))
    return column[row]


def lowdata_steps_and_batch(method: str, dataset: str, train_size: int) -> tuple[int, int]:
    """The paper's (max steps, batch) for a low-data run (Table 8; XSUM epochs x batches)."""
    if dataset in SUMMARISATION:
        batch = LOWDATA_XSUM_BATCH.get(method, LOWDATA_XSUM_BATCH["finetune"])
        epochs = table8_entry(LOWDATA_XSUM_EPOCHS, method, train_size)
        return epochs * math.ceil(train_size / batch), batch
    return table8_entry(LOWDATA_MAX_STEPS, method, train_size), LOWDATA_BATCH


# ---- summarisation (XSUM and its extrapolation splits) --------------------------------------

SUMMARISATION = ("xsum", "xsum-news2sports", "xsum-withinnews")
XSUM_SOURCE_TOKENS = 512  # paper §5.3 / ACL A.1: articles cut to 512 tokens (anchor `xsum`: 1024,
# which `--set train.max_source_tokens=1024` gives; the value is in every row's train_config)
XSUM_TARGET_TOKENS = 60  # anchor train_bart.py max_target_length 60 (train and val)
XSUM_MID_DIM = 800  # paper §4.3 / ACL fn 4: reparameterisation width 800 for summarisation
# XSUM with BART-large (setup.md §6, R28; anchor seq2seq/finetune.py): beam 6, min_length 11,
# max_length 62, no_repeat_ngram_size 3 (from the BART-large config), length penalty 0.8 (paper
# §5.3; the anchor code's default is 1.0, also valid). transformers' lengths count the decoder
# start </s> and BART's <s>, which here are the prompt (`LoadedModel.decoder_prompt`), so
# min_length 11 = 9 new tokens before EOS may come and max_length 62 = 60 new tokens.
XSUM_DECODE = {
    "num_beams": 6,
    "max_new_tokens": 60,
    "length_penalty": 0.8,
    "batch_size": 10,  # paper §5.3 times summarisation per batch of 10
    "min_new_tokens": 9,
    "no_repeat_ngram_size": 3,
    "early_stopping": True,  # the BART-large config (implementation-notes R28)
}

# ---- ablations and analyses (ACL §7) -----------------------------------------------------

# Figure 5 (ACL; v1 Fig. 5): low-data E2E with 100 examples, prefix initialised from these words,
# in the figure's order
INIT_WORDS = (
    "active", "elephant", "summarize", "table-to-text:", "banana", "beautiful", "divide", "keep",
)  # fmt: skip
INIT_SIZE = 100  # Figure 5: 100 training examples
INIT_RANDOM_LEN = 5  # the random-init bar's prefix length: E2E's (ACL Table 6)


def init_label(word: str | None) -> str:
    """The run label of a Figure 5 bar: init-random, or init-<word> without a trailing ':'
    (file-system-safe run ids)."""
    return "init-random" if word is None else "init-" + word.rstrip(":")


# Figure 4 (ACL §7.1): the search ranges of ACL A.2 -- {1, 5, 10, 20, 40} for table-to-text (the
# figure's DART panel) and {1, 10, 20, 50, 80, 100, 200, 300} for summarisation (XSUM panel)
PREFIX_LENGTHS = {
    "dart": (1, 5, 10, 20, 40),
    "e2e": (1, 5, 10, 20, 40),
    "xsum": (1, 10, 20, 50, 80, 100, 200, 300),
}
# Figure 6 (ACL §7.5): E2E trained on these fractions of its training set, random prefix init
DATA_FRACTIONS = (0.1, 0.2, 0.4, 0.6, 0.8)

# ---- the published numbers ----------------------------------------------------------------

REFERENCE_CSV = "reference_results.csv"  # setup.md §0b: one row per printed cell, both versions


def load_reference_results(version: str = DEFAULT_PAPER_VERSION):
    """Rows of the packaged reference table for one paper version (a pandas DataFrame).

    Columns: source, model, dataset, split_or_setting, method, metric, value (string, as printed),
    approximate (bool), note, plus `value_num` (float; NaN where the value is not a number).

    Raises:
        ValueError: `version` is not one of PAPER_VERSIONS.
    """
    import pandas as pd

    if version not in PAPER_VERSIONS:
        raise ValueError(f"unknown paper version {version!r}; expected one of {PAPER_VERSIONS}")
    with resources.files("benchmark").joinpath(REFERENCE_CSV).open("r", encoding="utf-8") as f:
        # Strings throughout: values are printed numbers ("0.30" must stay "0.30").
        table = pd.read_csv(f, dtype=str, keep_default_na=False)
    # "ACL2021 Table 2" / "arXiv-v1 Sec 6.3 text": the version is the first word of `source`.
    table = table[table["source"].str.split(" ", n=1).str[0] == version].reset_index(drop=True)
    table["approximate"] = table["approximate"].str.lower() == "true"
    table["value_num"] = pd.to_numeric(table["value"], errors="coerce")
    return table
