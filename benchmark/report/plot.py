"""Figure 3 of the paper, E2E panel: BLEU and ROUGE-L against training size in low data.

Usage::

    python -m benchmark plot              # after `python -m benchmark run --grid lowdata`

or from Python: ``plot_lowdata(Path("results/results.csv"), Path("figures"))`` writes
``figures/lowdata_e2e.png`` and ``figures/lowdata_e2e.pdf``.

Each point is the mean over finished runs (subsets x training seeds; the paper averages 5 x 2 = 10
models, §6.3) with the sample standard deviation as error bar. The paper publishes no per-point
values for Figure 3 (setup.md §10), so nothing of the paper is drawn; its one stated number, the
average BLEU gap, is printed in the footnote. Reads the results CSV only; never imports torch.
"""

from __future__ import annotations

import logging
import re
from importlib import resources
from pathlib import Path

import matplotlib.style
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmark.report.paper import load_reference_results

log = logging.getLogger(__name__)

STYLE = "paper.mplstyle"  # packaged beside this module
FIGURE_STEM = "lowdata_e2e"
FIGURE_FORMATS = ("png", "pdf")

REQUIRED_COLUMNS = (
    "dataset",
    "method",
    "model",
    "scale",
    "train_size",
    "status",
    "bleu",
    "rouge_l",
)
METRICS = (("bleu", "BLEU"), ("rouge_l", "ROUGE-L"))  # paper Figure 3, E2E panel
METHOD_ORDER = ("finetune", "prefix")  # drawn first, in these colours; other methods follow
METHOD_LABELS = {"finetune": "Fine-tune", "prefix": "Prefix"}
DODGE = 0.08  # horizontal offset between methods, in category widths, so error bars do not overlap


class ReportError(RuntimeError):
    """The results CSV cannot be turned into a figure; the message says what to run or fix."""


def plot_lowdata(results_csv: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw the low-data E2E figure from a results CSV; return the files written.

    Uses rows with ``status == "ok"`` and ``dataset == "e2e"``. Metric cells that are not numbers
    (e.g. "not computed: ...") are skipped per metric. One figure per (model, scale) present; the
    file name gets ``_<model>`` / ``_<scale>`` only when more than one model / scale is present.

    Raises:
        ReportError: the CSV is missing, lacks a needed column, or holds no finished E2E run.
    """
    results_csv, out_dir = Path(results_csv), Path(out_dir)
    runs = _finished_e2e_runs(results_csv)
    several_models = runs["model"].nunique() > 1
    several_scales = runs["scale"].nunique() > 1
    footnote = _paper_footnote()

    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (model, scale), group in runs.groupby(["model", "scale"], sort=True):
        suffix = (f"_{_slug(model)}" if several_models else "") + (
            f"_{_slug(scale)}" if several_scales else ""
        )
        with resources.as_file(resources.files(__package__).joinpath(STYLE)) as style:
            with matplotlib.style.context(style):
                figure = _draw(group, model=str(model), scale=str(scale), footnote=footnote)
                for fmt in FIGURE_FORMATS:
                    path = out_dir / f"{FIGURE_STEM}{suffix}.{fmt}"
                    # No creation date in the PDF, so that the same CSV gives the same file.
                    metadata = {"CreationDate": None} if fmt == "pdf" else None
                    figure.savefig(path, metadata=metadata)
                    written.append(path)
                    log.info("wrote %s", path)
    return written


def _finished_e2e_runs(results_csv: Path) -> pd.DataFrame:
    how_to_fix = "run `python -m benchmark run --grid lowdata` first"
    if not results_csv.is_file():
        raise ReportError(f"no results file {results_csv}; {how_to_fix}")
    try:
        # Text columns stay text ("not computed: ..." cells); numbers are coerced per metric.
        table = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        table = pd.DataFrame(columns=list(REQUIRED_COLUMNS))
    missing = [column for column in REQUIRED_COLUMNS if column not in table.columns]
    if missing:
        raise ReportError(f"{results_csv} lacks the column(s) {', '.join(missing)}")

    table = table[(table["status"].str.strip() == "ok") & (table["dataset"].str.strip() == "e2e")]
    table = table.assign(train_size=pd.to_numeric(table["train_size"], errors="coerce"))
    table = table.dropna(subset=["train_size"])
    for metric, _ in METRICS:
        table[metric] = pd.to_numeric(table[metric], errors="coerce")
    table = table.dropna(subset=[metric for metric, _ in METRICS], how="all")
    if table.empty:
        raise ReportError(f"no finished e2e runs in {results_csv}; {how_to_fix}")
    return table.astype({"train_size": int})


def _draw(runs: pd.DataFrame, model: str, scale: str, footnote: str) -> Figure:
    """Two panels (BLEU, ROUGE-L) against training size, one line per method."""
    sizes = sorted(runs["train_size"].unique())
    methods = [m for m in METHOD_ORDER if m in set(runs["method"])]
    methods += sorted(set(runs["method"]) - set(METHOD_ORDER))

    figure = Figure(figsize=(6.0, 2.5), layout="constrained")
    # Agg canvas attached to this figure only: no pyplot, no global backend switch, no window.
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(METRICS))
    for ax, (metric, label) in zip(axes, METRICS, strict=True):
        for position, method in enumerate(methods):
            _draw_method(ax, runs, method, metric, sizes, position - (len(methods) - 1) / 2)
        ax.set_xticks(range(len(sizes)), [str(size) for size in sizes])
        ax.set_xlim(-0.5, len(sizes) - 0.5)
        ax.set_xlabel("training size (pairs)")
        ax.set_ylabel(f"{label} (×100)")
        ax.set_title(label)
    axes[0].legend(loc="best")

    figure.suptitle(f"E2E low-data (paper Fig. 3): {model}, scale {scale}")
    gap = _mean_gap(runs, "bleu")
    ours = "" if gap is None else f"; these runs: prefix − fine-tune = {gap:+.1f} BLEU on average"
    figure.text(
        0.0,
        -0.02,
        f"Mean ± sample std over runs (subsets × training seeds){ours}.\n{footnote}.",
        ha="left",
        va="top",
        fontsize="x-small",
    )
    return figure


def _draw_method(
    ax: Axes, runs: pd.DataFrame, method: str, metric: str, sizes: list[int], offset: float
) -> None:
    scores = runs.loc[runs["method"] == method, ["train_size", metric]].dropna()
    stats = scores.groupby("train_size")[metric].agg(["mean", "std", "count"])
    if stats.empty:
        return
    x = [sizes.index(size) + offset * DODGE for size in stats.index]
    counts = sorted(set(stats["count"]))
    runs_label = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    ax.errorbar(
        x,
        stats["mean"],
        yerr=stats["std"].fillna(0.0),  # a single run has no spread to show
        marker="o",
        label=f"{METHOD_LABELS.get(method, method)} (n={runs_label} runs/size)",
    )


def _mean_gap(runs: pd.DataFrame, metric: str) -> float | None:
    """Mean over training sizes of (prefix mean - fine-tune mean); None unless both ran."""
    means = runs.dropna(subset=[metric]).groupby(["method", "train_size"])[metric].mean()
    if not {"prefix", "finetune"} <= set(means.index.get_level_values("method")):
        return None
    difference = (means["prefix"] - means["finetune"]).dropna()
    return None if difference.empty else float(difference.mean())


def _paper_footnote() -> str:
    """The paper's one number for Figure 3: the average BLEU gap (ACL §6.3), from the package."""
    table = load_reference_results("ACL2021")
    row = table[(table["metric"] == "bleu_diff") & table["source"].str.contains("6.3")]
    gap = row["value"].iloc[0]
    return f"paper: prefix beats fine-tune by {gap} BLEU on average in low data (GPT-2 medium)"


def _slug(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-") or "none"
