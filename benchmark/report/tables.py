"""The paper's tables with our numbers beside them: Markdown and LaTeX (booktabs) per table.

    python -m benchmark tables [--out tables/] [--paper-version ACL2021|arXiv-v1]

Per cell: the paper's value (as printed), ours as mean ± sample std over runs (n), and ours minus the
paper. Our rows come from `results/<grid>.csv` (status ok). A table whose grid has no finished run
shows the paper's column and "not run" in ours; smoke-scale rows are never used. Reads CSVs only
(no torch), so it runs in a second.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from benchmark.paper import DEFAULT_PAPER_VERSION, load_reference_results, table_sources
from benchmark.report import latest_finished
from benchmark.report.convergence import CONVERGED_BELOW, add_convergence

NOT_RUN = "not run"
NOT_CONVERGED = "not converged"  # a cell's note: runs whose dev loss was still falling at the end
CONVERGENCE_NOTE = (
    f"'{NOT_CONVERGED}' (†): the dev loss still fell by {CONVERGED_BELOW:.0%} or more between "
    "the last two dev checks (the rule of benchmark/report/convergence.py)."
)


@dataclass(frozen=True)
class Column:
    dataset: str  # dataset as named in the paper table (reference CSV)
    split: str  # split_or_setting in the reference CSV
    metric: str  # metric in the reference CSV
    ours: str  # our results column
    our_dataset: str  # our dataset registry name


@dataclass(frozen=True)
class TableSpec:
    name: str  # output file stem
    title: str
    sources: dict[str, str]  # paper version -> `source` label in the reference CSV
    grid: str  # which results/<grid>.csv holds our runs
    paper_model: str
    rows: tuple[tuple[str, str], ...]  # (paper method label, our `variant` label)
    columns: tuple[Column, ...]


def _e2e(metric: str, ours: str) -> Column:
    return Column("e2e", "test", metric, ours, "e2e")


E2E_COLUMNS = (
    _e2e("bleu", "bleu"),
    _e2e("nist", "nist"),
    _e2e("meteor", "meteor"),
    _e2e("rouge-l", "rouge_l"),
    _e2e("cider", "cider"),
)
TABLE_TO_TEXT_ROWS = (
    ("fine-tune", "fine-tune"),
    ("ft-top2", "ft-top2"),
    ("adapter-3%", "adapter-3%"),
    ("adapter-0.1%", "adapter-0.1%"),
    ("prefix-0.1%", "prefix-0.1%"),
)
TABLE_TO_TEXT = table_sources(2)

TABLES: tuple[TableSpec, ...] = (
    TableSpec(
        "table2_e2e",
        "Table-to-text, E2E test (ACL Table 2 / v1 Table 1)",
        TABLE_TO_TEXT,
        "table2",
        "gpt2-medium",
        TABLE_TO_TEXT_ROWS,
        E2E_COLUMNS,
    ),
    TableSpec(
        "table2_webnlg",
        "Table-to-text, WebNLG 2017 test, seen / unseen / all (ACL Table 2 / v1 Table 1)",
        TABLE_TO_TEXT,
        "table2",
        "gpt2-medium",
        TABLE_TO_TEXT_ROWS,
        tuple(
            Column("webnlg", split, metric, f"{metric}_{split}", "webnlg")
            for metric in ("bleu", "meteor", "ter")
            for split in ("seen", "unseen", "all")
        ),
    ),
    TableSpec(
        "table2_dart",
        "Table-to-text, DART test (ACL Table 2 / v1 Table 1)",
        TABLE_TO_TEXT,
        "table2",
        "gpt2-medium",
        TABLE_TO_TEXT_ROWS,
        tuple(
            Column("dart", "test", metric, metric, "dart")
            for metric in ("bleu", "meteor", "ter", "moverscore", "bertscore", "bleurt")
        ),
    ),
    TableSpec(
        "table3_xsum",
        "Summarisation, XSUM test (ACL Table 3 / v1 Table 2)",
        table_sources(3),
        "table3",
        "bart-large",
        (("fine-tune", "fine-tune"), ("prefix-2%", "prefix-2%"), ("prefix-0.1%", "prefix-0.1%")),
        tuple(
            Column("xsum", "test", metric, ours, "xsum")
            for metric, ours in (
                ("rouge-1", "rouge1"),
                ("rouge-2", "rouge2"),
                ("rouge-l", "rougeL"),
            )
        ),
    ),
    TableSpec(
        "table4_extrapolation",
        "Extrapolation, XSUM news-to-sports and within-news (ACL Table 4 / v1 Table 3)",
        table_sources(4),
        "extrapolation",
        "bart-large",
        (("fine-tune", "fine-tune"), ("prefix", "prefix")),
        tuple(
            Column(dataset, "test", metric, ours, our)
            for dataset, our in (
                ("xsum-news2sports", "xsum-news2sports"),
                ("xsum-withinnews", "xsum-withinnews"),
            )
            for metric, ours in (
                ("rouge-1", "rouge1"),
                ("rouge-2", "rouge2"),
                ("rouge-l", "rougeL"),
            )
        ),
    ),
    TableSpec(
        "table5_intrinsic",
        "Intrinsic evaluation: embedding-only and infix, E2E test (ACL Table 5 / v1 Table 4)",
        table_sources(5),
        "intrinsic",
        "gpt2-medium",
        (("prefix", "prefix"),)
        + tuple((f"emb-{k}", f"emb-{k}") for k in (1, 10, 20))
        + tuple((f"infix-{k}", f"infix-{k}") for k in (1, 10, 20)),
        E2E_COLUMNS,
    ),
)


def _num(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan


def our_runs(results_dir: Path, grid: str) -> pd.DataFrame:
    """Finished, non-smoke rows of results/<grid>.csv, the newest per run (empty when the grid has
    not run)."""
    path = results_dir / f"{grid}.csv"
    if not path.is_file():
        return pd.DataFrame()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    if table.empty or "status" not in table.columns:
        return pd.DataFrame()
    table = latest_finished(table)
    table = table[table["scale"] != "smoke"]
    if "variant" not in table.columns:
        table = table.assign(variant=table["method"])
    return add_convergence(table, results_dir)


def _ours(runs: pd.DataFrame, variant: str, column: Column) -> tuple[str, float, int]:
    if runs.empty or column.ours not in runs.columns:
        return NOT_RUN, math.nan, 0
    cells = runs[(runs["variant"] == variant) & (runs["dataset"] == column.our_dataset)]
    if cells.empty:
        return NOT_RUN, math.nan, 0
    numbers = cells.assign(value=[_num(v) for v in cells[column.ours]]).dropna(subset=["value"])
    if numbers.empty:  # e.g. "not computed: java not found": say so rather than invent a number
        reasons = sorted(set(cells[column.ours]))
        return "; ".join(reasons)[:60] or "not computed", math.nan, 0
    values = numbers["value"]
    stalled = int(numbers["converged"].map(lambda c: c is False).sum())
    note = f", {stalled} {NOT_CONVERGED}" if stalled else ""
    mean = float(values.mean())
    if len(values) == 1:
        return f"{mean:.2f} (n=1{note})", mean, 1
    spread = f"{mean:.2f} ± {float(values.std()):.2f}"
    return f"{spread} (n={len(values)}{note})", mean, len(values)


def build_table(spec: TableSpec, results_dir: Path, version: str) -> tuple[pd.DataFrame, str]:
    """Long format: one line per (method, metric column) with paper, ours and the difference."""
    paper = load_reference_results(version)
    paper = paper[(paper["source"] == spec.sources[version]) & (paper["model"] == spec.paper_model)]
    runs = our_runs(results_dir, spec.grid)
    lines = []
    for paper_method, variant in spec.rows:
        for column in spec.columns:
            hit = paper[
                (paper["method"] == paper_method)
                & (paper["dataset"] == column.dataset)
                & (paper["split_or_setting"] == column.split)
                & (paper["metric"] == column.metric)
            ]
            paper_value = hit["value"].iloc[0] if len(hit) else "–"
            ours, mean, _ = _ours(runs, variant, column)
            diff = mean - _num(paper_value)
            lines.append(
                {
                    "method": paper_method,
                    "metric": column.metric
                    + ("" if column.split == "test" else f" ({column.split})")
                    + ("" if column.dataset == spec.columns[0].dataset else f" [{column.dataset}]"),
                    "paper": paper_value,
                    "ours": ours,
                    "ours − paper": "" if math.isnan(diff) else f"{diff:+.2f}",
                }
            )
    if not runs.empty:  # the caption describes only the runs of this table's datasets
        runs = runs[runs["dataset"].isin({column.our_dataset for column in spec.columns})]
    caption = _caption(spec, runs, version)
    frame = pd.DataFrame(lines)
    if frame["ours"].str.contains(NOT_CONVERGED).any():
        caption += " " + CONVERGENCE_NOTE
    return frame, caption


def _caption(spec: TableSpec, runs: pd.DataFrame, version: str) -> str:
    paper = f"paper: {spec.sources[version]}, {spec.paper_model}"
    if runs.empty:
        return (
            f"{spec.title}. {paper}; ours: not run (`python -m benchmark run --grid {spec.grid}`)."
        )
    combos = sorted({(m, s) for m, s in zip(runs["model"], runs["scale"])})
    ours = ", ".join(f"{model} at {scale} scale" for model, scale in combos)
    return (
        f"{spec.title}. {paper}; ours: {ours} (grid `{spec.grid}`){_recipe(runs)}. "
        "Mean ± sample std over runs."
    )


def _recipe(runs: pd.DataFrame) -> str:
    """What our runs trained on and were scored on, read from their rows."""

    def values(column: str, full: str = "") -> str:
        if column not in runs.columns:
            return "?"
        cells = sorted({v for v in runs[column] if v != ""}, key=lambda v: (_num(v), v))
        return "/".join(full if (full and v == "0") else v for v in cells) or "?"

    return (
        f": {values('train_size', 'all')} training pairs, {values('steps')} steps, "
        f"{values('eval_size')} test inputs scored"
    )


def to_markdown(frame: pd.DataFrame, caption: str) -> str:
    header = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([f"{caption}\n", header, rule, *body]) + "\n"


def tex_escape(text: str) -> str:
    """Text as LaTeX: specials escaped, ± − – as math / dashes."""
    text = str(text).replace("\\", r"\textbackslash{}")
    text = re.sub(r"([%&#_$])", r"\\\1", text)
    return text.replace("±", r"$\pm$").replace("−", "$-$").replace("–", "--")


def to_latex(frame: pd.DataFrame, caption: str, label: str) -> str:
    lines = [
        r"\begin{table}[t]",
        r"\centering\small",
        r"\begin{tabular}{ll" + "r" * (len(frame.columns) - 2) + "}",
        r"\toprule",
        " & ".join(tex_escape(c) for c in frame.columns) + r" \\",
        r"\midrule",
    ]
    previous = None
    for row in frame.itertuples(index=False):
        if previous is not None and row[0] != previous:
            lines.append(r"\midrule")
        cells = [tex_escape(row[0]) if row[0] != previous else ""] + [
            tex_escape(v) for v in row[1:]
        ]
        lines.append(" & ".join(cells) + r" \\")
        previous = row[0]
    lines += [
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{tex_escape(caption)}}}",
        rf"\label{{tab:{label}}}",
        r"\end{table}",
    ]
    return "\n".join(lines) + "\n"


ADHOC = "adhoc"  # results/adhoc.csv: runs started with --method / --train-size, no grid
# metric columns an ad-hoc table shows, in this order, where any of its rows has a number
ADHOC_METRICS = (
    "bleu", "nist", "meteor", "rouge_l", "cider",
    "bleu_seen", "bleu_unseen", "bleu_all", "meteor_all", "ter_all",
    "ter", "moverscore", "bertscore", "bleurt", "rouge1", "rouge2", "rougeL",
)  # fmt: skip


def adhoc_table(results_dir: Path) -> tuple[pd.DataFrame, str] | None:
    """A plain table of the finished ad-hoc runs (every scale, each labelled), one line per run;
    None when results/adhoc.csv has none."""
    path = results_dir / f"{ADHOC}.csv"
    if not path.is_file():
        return None
    try:
        table = latest_finished(pd.read_csv(path, dtype=str, keep_default_na=False))
    except pd.errors.EmptyDataError:
        return None
    if table.empty:
        return None
    table = add_convergence(table, results_dir)
    metrics = [m for m in ADHOC_METRICS if m in table.columns and table[m].map(_num).notna().any()]
    label = {True: "yes", False: f"no ({NOT_CONVERGED})", None: "unknown (< 2 dev checks)"}

    def cell(row: pd.Series, column: str) -> str:
        return str(row.get(column, "")).strip() or "–"

    lines = []
    for _, row in table.iterrows():
        line = {
            "method": cell(row, "variant") if cell(row, "variant") != "–" else cell(row, "method"),
            "dataset": cell(row, "dataset"),
            "model": cell(row, "model"),
            "scale": cell(row, "scale"),
            "train size": cell(row, "train_size"),
            "subset": cell(row, "subset"),
            "seed": cell(row, "seed"),
        }
        for metric in metrics:
            value = _num(row.get(metric, ""))
            line[metric] = "–" if math.isnan(value) else f"{value:.2f}"
        line["converged"] = label[row["converged"]]
        lines.append(line)
    caption = (
        f"Ad-hoc runs (results/{ADHOC}.csv, `python -m benchmark run --method ...`): one line per "
        "finished run, the newest of a redone run; every scale, labelled."
    )
    return pd.DataFrame(lines), caption


def write_tables(
    results_dir: Path, out_dir: Path, version: str = DEFAULT_PAPER_VERSION
) -> list[Path]:
    """Every paper table, and the ad-hoc runs' table where results/adhoc.csv has runs."""
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    tables = [(spec.name, *build_table(spec, results_dir, version)) for spec in TABLES]
    if (adhoc := adhoc_table(results_dir)) is not None:
        tables.append((ADHOC, *adhoc))
    for name, frame, caption in tables:
        for suffix, text in (
            ("md", to_markdown(frame, caption)),
            ("tex", to_latex(frame, caption, name)),
        ):
            path = out_dir / f"{name}.{suffix}"
            path.write_text(text, encoding="utf-8")
            written.append(path)
    return written


README_BEGIN = "<!-- tables:begin (written by `python -m benchmark tables`; do not edit) -->"
README_END = "<!-- tables:end -->"


def to_wide_markdown(frame: pd.DataFrame, caption: str, name: str) -> str:
    """Compact form for the README: one line per method, one column per metric, each cell
    `ours (paper)`; the long file in tables/ has std, n and the differences."""
    metrics = list(dict.fromkeys(frame["metric"]))
    header = "| method | " + " | ".join(metrics) + " |"
    rule = "|---" * (len(metrics) + 1) + "|"
    body = []
    for method, lines in frame.groupby("method", sort=False):
        cells = {row.metric: row for row in lines.itertuples(index=False)}
        shown = []
        for metric in metrics:
            row = cells[metric]
            ours = str(row.ours).split(" ± ")[0].split(" (n=")[0]
            mark = "†" if NOT_CONVERGED in str(row.ours) else ""
            shown.append(f"{ours}{mark} ({row.paper})")
        body.append(f"| {method} | " + " | ".join(shown) + " |")
    title = f"**{caption}** Cells: ours (paper); [tables/{name}.md](tables/{name}.md) has std, n "
    title += "and the differences."

    return "\n".join([title, "", header, rule, *body]) + "\n"


def update_readme(readme: Path, results_dir: Path, version: str = DEFAULT_PAPER_VERSION) -> bool:
    """Replace the block between README_BEGIN and README_END with the tables that have runs (and
    a line naming those that do not). Returns False when the README has no such block."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    parts, not_run = [], []
    for spec in TABLES:
        frame, caption = build_table(spec, results_dir, version)
        if (frame["ours"] != NOT_RUN).any():
            parts.append(to_wide_markdown(frame, caption, spec.name))
        else:
            not_run.append(f"[{spec.name}](tables/{spec.name}.md) (`--grid {spec.grid}`)")
    if not_run:
        parts.append("Not run yet (paper column only): " + ", ".join(not_run) + ".\n")
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    block = "\n".join([README_BEGIN, "", *parts, README_END])
    readme.write_text(head + block + tail, encoding="utf-8")
    return True
