"""The paper's facts, torch-free: its method rows, hyper-parameter tables, protocol constants,
initialisation words, published numbers and the numbering of its tables and figures.

Li & Liang (2021), "Prefix-Tuning: Optimizing Continuous Prompts for Generation", ACL-IJCNLP; the
ACL camera-ready is canonical (setup.md §0), arXiv 2101.00190v1 numbers its tables one lower.

    from benchmark import paper
    paper.ROWS["adapter-0.1%"]            # -> ("adapter", {"adapter_pct": 0.1})
    paper.load_reference_results()        # every printed cell of the ACL version
    paper.CLAIMS["fig3-lowdata-e2e"]      # a claim: its grid, metric, the two groups, direction

Experiments (benchmark/experiments/) build runs from these; reports (benchmark/report/) print them
beside ours. This module imports nothing of the project.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

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

# The y-axis ranges of the paper's figure panels, on our scale (BLEU and ROUGE x100, TER a
# fraction): the paper printed no per-point values, only these axes (setup.md §10, read from the
# ACL text extraction; E2E BLEU/ROUGE are drawn as fractions there, 0.50-0.60 = 50-60 here).
# ROUGE-L of Figures 3 and 5 is from their appendix twins, ACL Figures 7 and 8.
FIGURE_AXES: dict[tuple[str, str], dict[str, tuple[float, float]]] = {
    ("Figure 3", "e2e"): {"bleu": (50.0, 60.0), "rouge_l": (60.0, 66.0)},
    ("Figure 3", "xsum"): {"rouge1": (32.0, 37.0), "rouge2": (10.0, 15.0), "rougeL": (24.0, 28.0)},
    ("Figure 4", "dart"): {"bleu": (44.0, 46.0), "ter": (0.46, 0.48)},
    ("Figure 4", "xsum"): {"rouge2": (18.5, 21.0), "rougeL": (33.5, 36.0)},
    ("Figure 5", "e2e"): {"bleu": (45.0, 60.0), "rouge_l": (58.0, 66.0)},
    ("Figure 6", "e2e"): {"bleu": (65.0, 69.0), "rouge_l": (68.0, 71.0)},
}

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


# ---- the paper's claims: what `python -m benchmark claims` decides ---------------------------

Direction = Literal["greater", "less", "comparable"]


@dataclass(frozen=True)
class Measure:
    """What a claim compares on one dataset: our results column, and the reference-table cell
    (split, metric) that gives the paper's number ("" where the paper printed none)."""

    dataset: str  # our dataset name, which is also the reference table's
    column: str  # our results column
    split: str = "test"  # the reference table's split_or_setting
    metric: str = ""  # the reference table's metric; "" = no published cell


@dataclass(frozen=True)
class Group:
    """One side of a comparison: the runs whose `variant` is one of `variants` (a grid's run
    label; rows without one use their method), and the reference-table rows that are the
    paper's side (their values averaged)."""

    label: str  # as printed in the scorecard
    variants: tuple[str, ...]
    paper_rows: tuple[str, ...] = ()


@dataclass(frozen=True)
class Claim:
    """One claim of the paper, decided on one grid's runs: ours = mean(a) - mean(b) of the
    measure's column, its runs paired by the `pair_by` columns (the same training subset and seed
    of each group; a group's several runs at one unit, e.g. INFIX-1/10/20, are averaged first).
    greater: a > b; less: a < b; comparable: |a - b| <= margin, in the metric's units."""

    id: str
    where: str  # where in the paper (ACL camera-ready numbering)
    statement: str  # what the paper says, in our words
    grid: str  # results/<grid>.csv
    measures: tuple[Measure, ...]  # several: pooled over those datasets (one unit per dataset)
    a: Group
    b: Group
    direction: Direction
    margin: float | None = None  # comparable claims only; the paper states none, so ours says why
    pair_by: tuple[str, ...] = ("dataset", "subset", "seed")
    only: tuple[tuple[str, tuple[str, ...]], ...] = ()  # (column, values) rows must have
    paper_table: int | None = None  # the ACL table whose cells give the paper's effect
    paper_model: str = "gpt2-medium"  # the reference table's model for those cells
    stated: str = ""  # a number stated in the text: its reference `source` after the version
    effect_text: str = ""  # the paper's words, where it published no number

    def __post_init__(self) -> None:
        if (self.direction == "comparable") != (self.margin is not None):
            raise ValueError(f"claim {self.id}: a margin goes with, and only with, 'comparable'")


PREFIX_T2T = Group("prefix (0.1%)", ("prefix-0.1%",), ("prefix-0.1%",))
FINE_TUNE = Group("fine-tune", ("fine-tune",), ("fine-tune",))
TABLE_TO_TEXT_BLEU = (  # ACL Table 2's BLEU per dataset; WebNLG's "A" (all) column
    Measure("e2e", "bleu", metric="bleu"),
    Measure("webnlg", "bleu_all", "all", "bleu"),
    Measure("dart", "bleu", metric="bleu"),
)
INFIX_ROWS = tuple(f"infix-{k}" for k in (1, 10, 20))  # ACL Table 5's lengths, pooled
EMBEDDING_ROWS = tuple(f"emb-{k}" for k in (1, 10, 20))
INFIX = Group("infix-1/10/20", INFIX_ROWS, INFIX_ROWS)
EMBEDDING_ONLY = Group("emb-1/10/20", EMBEDDING_ROWS, EMBEDDING_ROWS)
LOWDATA_UNITS = ("dataset", "train_size", "subset", "seed")  # Figure 3 pools its sizes
# Figure 4: table-to-text is the DART panel in the paper; the quick scale runs E2E (no DART
# training file offline), so both are listed and whichever ran is used
T2T_LENGTH = (Measure("dart", "bleu"), Measure("e2e", "bleu"))
XSUM_LENGTH = (Measure("xsum", "rouge2"),)  # the ROUGE-2 panel of Figure 4 (left)
TASK_WORDS = ("table-to-text:", "summarize")  # Figure 5's task-relevant words (ACL §7.4)

CLAIM_LIST: tuple[Claim, ...] = (
    Claim(
        "table2-prefix-vs-finetune",
        "ACL Table 2, §6.1",
        "prefix-tuning (0.1% of the parameters) is comparable to fine-tuning",
        "table2",
        (Measure("e2e", "bleu", metric="bleu"), Measure("dart", "bleu", metric="bleu")),
        PREFIX_T2T,
        FINE_TUNE,
        "comparable",
        # the paper states no margin; ours is just above the gaps it calls comparable (ACL
        # Table 2 BLEU, prefix - fine-tune: E2E +1.5, DART +0.2). WebNLG is the next claim's.
        margin=2.0,
        paper_table=2,
    ),
    Claim(
        "table2-prefix-vs-adapter",
        "ACL Table 2, §6.1",
        "prefix-tuning beats adapter-tuning at the same 0.1% budget (4.1 BLEU per dataset)",
        "table2",
        TABLE_TO_TEXT_BLEU,
        PREFIX_T2T,
        Group("adapter (0.1%)", ("adapter-0.1%",), ("adapter-0.1%",)),
        "greater",
        stated="Sec 6.1 text",  # ACL §6.1: "4.1 BLEU per dataset" on average
        paper_table=2,
    ),
    Claim(
        "table2-prefix-vs-ft-top2",
        "ACL Table 2, §6.1",
        "prefix-tuning beats fine-tuning the top 2 layers (FT-top2)",
        "table2",
        TABLE_TO_TEXT_BLEU,
        PREFIX_T2T,
        Group("FT-top2", ("ft-top2",), ("ft-top2",)),
        "greater",
        paper_table=2,
    ),
    Claim(
        "table2-webnlg-unseen",
        "ACL Table 2, §6.1",
        "on WebNLG's unseen categories prefix-tuning is ahead of fine-tuning (extrapolation)",
        "table2",
        (Measure("webnlg", "bleu_unseen", "unseen", "bleu"),),
        PREFIX_T2T,
        FINE_TUNE,
        "greater",
        paper_table=2,
    ),
    Claim(
        "fig3-lowdata-e2e",
        "ACL Figure 3, §6.3",
        "in low data (50-500 pairs) prefix-tuning beats fine-tuning, by 2.9 BLEU on average",
        "lowdata",
        (Measure("e2e", "bleu"),),
        Group("prefix", ("prefix",)),
        Group("fine-tune", ("finetune",)),
        "greater",
        pair_by=LOWDATA_UNITS,
        stated="Sec 6.3 text",  # ACL §6.3: 2.9 BLEU on average over the four sizes
    ),
    Claim(
        "fig3-lowdata-xsum",
        "ACL Figure 3, §6.3",
        "in low-data XSUM prefix-tuning beats fine-tuning",
        "lowdata",
        (Measure("xsum", "rouge2"),),  # Figure 3's XSUM panels are ROUGE-1 and ROUGE-2
        Group("prefix", ("prefix",)),
        Group("fine-tune", ("finetune",)),
        "greater",
        pair_by=LOWDATA_UNITS,
        effect_text="ahead at every size (Figure 3, no values printed)",
    ),
    Claim(
        "table3-xsum",
        "ACL Table 3, §6.2",
        "on XSUM prefix-tuning (2%) is slightly below fine-tuning",
        "table3",
        (Measure("xsum", "rougeL", metric="rouge-l"),),  # §6.2 quotes ROUGE-L (36.05 vs 37.25)
        Group("prefix (2%)", ("prefix-2%",), ("prefix-2%",)),
        FINE_TUNE,
        "less",
        paper_table=3,
        paper_model="bart-large",
    ),
    Claim(
        "table4-extrapolation",
        "ACL Table 4, §6.4",
        "prefix-tuning extrapolates better than fine-tuning (news-to-sports, within-news)",
        "extrapolation",
        (
            Measure("xsum-news2sports", "rougeL", metric="rouge-l"),
            Measure("xsum-withinnews", "rougeL", metric="rouge-l"),
        ),
        Group("prefix", ("prefix",), ("prefix",)),
        FINE_TUNE,
        "greater",
        paper_table=4,
        paper_model="bart-large",
    ),
    Claim(
        "table5-prefix-vs-infix",
        "ACL Table 5, §7.3",
        "prefix-tuning beats infix-tuning",
        "intrinsic",
        (Measure("e2e", "bleu", metric="bleu"),),
        Group("prefix", ("prefix",), ("prefix",)),
        INFIX,
        "greater",
        paper_table=5,
    ),
    Claim(
        "table5-infix-vs-embedding",
        "ACL Table 5, §7.2-7.3",
        "infix-tuning beats embedding-only tuning (prefix > infix > embedding-only)",
        "intrinsic",
        (Measure("e2e", "bleu", metric="bleu"),),
        INFIX,
        EMBEDDING_ONLY,
        "greater",
        paper_table=5,
    ),
    Claim(
        "fig4-length-rises-t2t",
        "ACL Figure 4, §7.1",
        "table-to-text: a longer prefix helps up to the threshold of 10 tokens (10 > 1)",
        "prefix-length",
        T2T_LENGTH,
        Group("length 10", ("prefix-len-10",)),
        Group("length 1", ("prefix-len-1",)),
        "greater",
        effect_text="rises up to 10 tokens (Figure 4, no values printed)",
    ),
    Claim(
        "fig4-length-flat-t2t",
        "ACL Figure 4, §7.1",
        "table-to-text: beyond 10 tokens, flat or slightly down (20 and 40 vs 10)",
        "prefix-length",
        T2T_LENGTH,
        Group("length 20/40", ("prefix-len-20", "prefix-len-40")),
        Group("length 10", ("prefix-len-10",)),
        "comparable",
        # Figure 4's DART BLEU axis spans 44.0-46.0 (setup.md §10), so the whole curve moves
        # within 2 BLEU; a "slight" dip is within half of that
        margin=1.0,
        effect_text="slightly down after 10 (Figure 4, no values printed)",
    ),
    Claim(
        "fig4-length-rises-xsum",
        "ACL Figure 4, §7.1",
        "summarisation: a longer prefix helps up to the threshold of 200 tokens (200 > 1)",
        "prefix-length",
        XSUM_LENGTH,
        Group("length 200", ("prefix-len-200",)),
        Group("length 1", ("prefix-len-1",)),
        "greater",
        effect_text="rises up to 200 tokens (Figure 4, no values printed)",
    ),
    Claim(
        "fig4-length-flat-xsum",
        "ACL Figure 4, §7.1",
        "summarisation: beyond 200 tokens, flat or slightly down (300 vs 200)",
        "prefix-length",
        XSUM_LENGTH,
        Group("length 300", ("prefix-len-300",)),
        Group("length 200", ("prefix-len-200",)),
        "comparable",
        margin=1.25,  # half of Figure 4's XSUM ROUGE-2 axis, 18.5-21.0 (setup.md §10)
        effect_text="slightly down after 200 (Figure 4, no values printed)",
    ),
    Claim(
        "fig5-real-words-vs-random",
        "ACL Figure 5, §7.4",
        "in low data, initialising the prefix with real words beats random initialisation",
        "init",
        (Measure("e2e", "bleu"),),
        Group("real words", tuple(init_label(word) for word in INIT_WORDS)),
        Group("random", (init_label(None),)),
        "greater",
        effect_text="random is lowest (Figure 5, no values printed)",
    ),
    Claim(
        "fig5-task-words",
        "ACL Figure 5, §7.4",
        "task-relevant words (table-to-text:, summarize) are slightly better than unrelated ones",
        "init",
        (Measure("e2e", "bleu"),),
        Group("task words", tuple(init_label(word) for word in TASK_WORDS)),
        Group(
            "other words",
            tuple(init_label(word) for word in INIT_WORDS if word not in TASK_WORDS),
        ),
        "greater",
        effect_text="slightly better (Figure 5, no values printed)",
    ),
    Claim(
        "fig6-data-efficiency",
        "ACL Figure 6, §7.5",
        "above 20% of the training data prefix-tuning beats fine-tuning (40/60/80%)",
        "data-efficiency",
        (Measure("e2e", "bleu"),),
        Group("prefix", ("prefix",)),
        Group("fine-tune", ("fine-tune",)),
        "greater",
        pair_by=("dataset", "train_fraction", "subset", "seed"),
        only=(("train_fraction", ("0.4", "0.6", "0.8")),),
        effect_text="ahead above 20% (Figure 6, no values printed)",
    ),
)
CLAIMS: dict[str, Claim] = {claim.id: claim for claim in CLAIM_LIST}


def paper_effect(
    claim: Claim, version: str = DEFAULT_PAPER_VERSION
) -> tuple[float | None, dict[str, float]]:
    """The paper's a - b for a claim, in the metric's units, and the per-dataset differences it
    averages: a number stated in the text where the claim names one, else the mean over the
    claim's measures of (mean of a's paper rows - mean of b's) in its ACL table; (None, {})
    where the paper printed no number (its figures)."""
    table = load_reference_results(version)
    if claim.stated:
        row = table[(table["source"] == f"{version} {claim.stated}")]
        return float(row["value_num"].iloc[0]), {}
    if claim.paper_table is None:
        return None, {}
    table = table[
        (table["source"] == table_sources(claim.paper_table)[version])
        & (table["model"] == claim.paper_model)
    ]
    differences = {}
    for measure in (m for m in claim.measures if m.metric):
        cells = table[
            (table["dataset"] == measure.dataset)
            & (table["split_or_setting"] == measure.split)
            & (table["metric"] == measure.metric)
        ]
        a, b = (cells[cells["method"].isin(g.paper_rows)]["value_num"] for g in (claim.a, claim.b))
        differences[measure.dataset] = float(a.mean() - b.mean())
    if not differences:
        return None, {}
    return sum(differences.values()) / len(differences), differences
