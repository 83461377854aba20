"""The paper's figures from the results CSVs: Figure 3 (low data), 4 (prefix length), 5 (prefix
initialisation) and ACL Figure 6 (data efficiency).

Usage::

    python -m benchmark run --grid lowdata     # (or prefix-length, init, data-efficiency)
    python -m benchmark plot

or from Python: ``plot_all(Path("results"), Path("figures"))`` reads ``results/<grid>.csv`` for
each grid in ``GRID_FIGURES`` and draws what has finished runs;
``plot_lowdata(Path("results/lowdata.csv"), Path("figures"))`` draws Figure 3 only. Files
(``.png`` and ``.pdf`` each), by grid:

    lowdata          lowdata_e2e, lowdata_xsum                    Figure 3
    prefix-length    prefix_length_<dataset> (dart, e2e, xsum)    Figure 4
    init             init_e2e                                     Figure 5
    data-efficiency  data_efficiency_e2e                          ACL Figure 6

plus ``_<model>`` / ``_<scale>`` when a CSV holds several models / scales (one figure each).

Each point is the mean over finished runs (``status == "ok"``; the newest row of a run redone) with
the sample standard deviation as error bar. The paper publishes no per-point values for these
figures (setup.md §10), so nothing of the paper is drawn; the footnote quotes what the paper states
about each figure. Reads the results CSVs only; never imports torch.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import matplotlib.style
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from benchmark.errors import ReportError
from benchmark.paper import DISPLAY, INIT_WORDS, init_label, load_reference_results
from benchmark.report import latest_finished

log = logging.getLogger(__name__)

STYLE = "paper.mplstyle"  # packaged beside this module
FIGURE_FORMATS = ("png", "pdf")
PANEL_SIZE = (3.0, 2.5)  # inches per metric panel: two panels fit a 6-inch text width

# CSV column -> (name, scale as stored by benchmark.metrics): the y axis of a panel
METRICS = {
    "bleu": ("BLEU", "×100"),
    "rouge_l": ("ROUGE-L", "×100"),  # E2E, pycocoevalcap
    "rouge1": ("ROUGE-1", "×100"),  # XSUM, rouge-score
    "rouge2": ("ROUGE-2", "×100"),
    "rougeL": ("ROUGE-L", "×100"),
    "ter": ("TER", "fraction, lower is better"),  # WebNLG/DART TER is printed as a fraction
}
METHOD_ORDER = ("finetune", "prefix")  # drawn first, in these colours; other methods follow
METHOD_LABELS = {m: DISPLAY[m] for m in METHOD_ORDER}
DODGE = 0.08  # offset between lines sharing an x, in x steps, so that error bars do not overlap

INIT_RANDOM = init_label(None)
# run label -> tick label, in the paper's Figure 5 order
INIT_TICKS = {INIT_RANDOM: "random", **{init_label(word): word for word in INIT_WORDS}}

# What the paper says about each figure (it gives no per-point values: setup.md §10).
PREFIX_LENGTH_PAPER = (
    "paper (§7.1): performance increases up to a threshold (200 for summarisation, 10 for "
    "table-to-text) then drops slightly"
)
INIT_PAPER = (
    "paper (§7.2, ACL Fig. 5): real words beat random initialisation; task-relevant words "
    "slightly better"
)
DATA_EFFICIENCY_PAPER = (
    "paper (ACL §7.5): prefix-tuning is better than fine-tuning above 20% of the data; "
    "comparable or slightly worse at 10%"
)
XSUM_LOWDATA_PAPER = (
    "paper (§6.3): prefix-tuning outperforms fine-tuning in low data, the gap narrowing as data "
    "grows"
)


@dataclass(frozen=True)
class FigureSpec:
    """How the runs of one dataset in one grid are drawn: metric panels against x, one line per
    group of runs (the `line` column), one point per (line, x)."""

    stem: str  # file name before the model / scale suffix and the format
    title: str  # names the paper figure; model and scale are appended
    panels: tuple[str, ...]  # metric columns, one panel each (keys of METRICS)
    x_label: str
    runs_are: str  # what the runs behind one point differ in
    paper: str  # the paper's statement about this figure, quoted in the footnote
    categorical: bool = True  # x values evenly spaced in order; False: a numeric x axis
    x_order: tuple[object, ...] = ()  # these x values first, in this order; the rest sorted
    tick_labels: tuple[tuple[object, str], ...] = ()  # x value -> tick text, where not _tick(x)
    line_order: tuple[str, ...] = tuple(METHOD_LABELS[m] for m in METHOD_ORDER)
    connect: bool = True  # join a line's points; False for unordered categories
    gap_metric: str | None = None  # footnote: mean over x of prefix minus fine-tune, if both ran


def plot_lowdata(results_csv: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw Figure 3 from the low-data results CSV; return the files written.

    E2E rows give ``lowdata_e2e`` (BLEU, ROUGE-L), XSUM rows ``lowdata_xsum`` (ROUGE-1/2/L), each
    against training size, fine-tune vs prefix. One figure per (model, scale) present; the file
    name gets ``_<model>`` / ``_<scale>`` only when more than one model / scale is present.

    Raises:
        ReportError: the CSV is missing, lacks a needed column, or holds no finished E2E or XSUM
            run.
    """
    results_csv = Path(results_csv)
    if not results_csv.is_file():
        raise ReportError(f"no results file {results_csv}; {_how_to_fix('lowdata')}")
    figures = _figures("lowdata", results_csv)
    if not figures:
        raise ReportError(
            f"no finished e2e runs in {results_csv} (nor xsum); {_how_to_fix('lowdata')}"
        )
    return [path for spec, runs in figures for path in _write(spec, runs, Path(out_dir))]


def plot_all(results_dir: str | Path, out_dir: str | Path) -> list[Path]:
    """Draw every paper figure whose grid has finished runs in ``results_dir/<grid>.csv``.

    A grid whose CSV is missing or holds no finished run is skipped (logged as not run). Returns
    the files written, grid by grid in ``GRID_FIGURES`` order, then by dataset, model and scale.

    Raises:
        ReportError: no figure at all can be drawn, or a CSV lacks a needed column.
    """
    results_dir, out_dir = Path(results_dir), Path(out_dir)
    written: list[Path] = []
    for grid in GRID_FIGURES:
        results_csv = results_dir / f"{grid}.csv"
        figures = _figures(grid, results_csv) if results_csv.is_file() else []
        if not figures:
            log.info("%s: not run (no finished runs in %s)", grid, results_csv)
        written += [path for spec, runs in figures for path in _write(spec, runs, out_dir)]
    if not written:
        others = ", ".join(list(GRID_FIGURES)[1:])
        raise ReportError(
            f"nothing to plot: no finished runs in {results_dir}/<grid>.csv for any of "
            f"{', '.join(GRID_FIGURES)}; {_how_to_fix('lowdata')} (or --grid {others})"
        )
    return written


# ---- from a results CSV to the runs of each figure ------------------------------------------------
# Each grid function takes the finished rows (text cells) and returns (spec, runs) per dataset, the
# runs holding `x` and `line` columns and numeric metric columns.


def _lowdata(table: pd.DataFrame, results_csv: Path) -> list[tuple[FigureSpec, pd.DataFrame]]:
    table = table.assign(x=pd.to_numeric(table["train_size"], errors="coerce"))
    specs = {
        "e2e": FigureSpec(
            stem="lowdata_e2e",
            title="E2E low-data (paper Fig. 3)",
            panels=("bleu", "rouge_l"),
            x_label="training size (pairs)",
            paper=_paper_footnote(),
            runs_are="subsets × training seeds",
            gap_metric="bleu",
        ),
        "xsum": FigureSpec(
            stem="lowdata_xsum",
            title="XSUM low-data (paper Fig. 3)",
            panels=("rouge1", "rouge2", "rougeL"),
            x_label="training size (articles)",
            paper=XSUM_LOWDATA_PAPER,
            runs_are="subsets × training seeds",
            gap_metric="rouge2",
        ),
    }
    return _per_dataset(_method_lines(table), results_csv, specs)


def _prefix_length(table: pd.DataFrame, results_csv: Path) -> list[tuple[FigureSpec, pd.DataFrame]]:
    table = table.assign(x=table["method_config"].map(_prefix_len))
    panels = {"dart": ("bleu", "ter"), "e2e": ("bleu", "rouge_l"), "xsum": ("rouge2", "rougeL")}
    specs = {
        dataset: FigureSpec(
            stem=f"prefix_length_{dataset}",
            title=f"{dataset.upper()} prefix length (paper Fig. 4)",
            panels=metrics,
            x_label="prefix length (tokens)",
            runs_are="seeds",
            paper=PREFIX_LENGTH_PAPER,
            categorical=False,
        )
        for dataset, metrics in panels.items()
    }
    return _per_dataset(_method_lines(table), results_csv, specs)


def _init(table: pd.DataFrame, results_csv: Path) -> list[tuple[FigureSpec, pd.DataFrame]]:
    variant = table["variant"].str.strip()
    table = table.assign(
        x=variant.where(variant != "", None),
        line=variant.map(lambda v: "random" if v == INIT_RANDOM else "real word"),
    )
    extra = sorted(set(table["x"].dropna()) - set(INIT_TICKS))
    spec = FigureSpec(
        stem="init_e2e",
        title="E2E prefix initialisation, low data (paper Fig. 5)",
        panels=("bleu", "rouge_l"),
        x_label="initialisation",
        runs_are="subsets × training seeds",
        paper=INIT_PAPER,
        x_order=tuple(INIT_TICKS),
        tick_labels=(*INIT_TICKS.items(), *((v, v.removeprefix("init-")) for v in extra)),
        line_order=("random", "real word"),
        connect=False,
    )
    return _per_dataset(table, results_csv, {"e2e": spec})


def _data_efficiency(
    table: pd.DataFrame, results_csv: Path
) -> list[tuple[FigureSpec, pd.DataFrame]]:
    # rounded so that 0.1 x 100 is the tick 10, not 10.000000000000002
    table = table.assign(x=(100 * pd.to_numeric(table["train_fraction"], errors="coerce")).round(6))
    spec = FigureSpec(
        stem="data_efficiency_e2e",
        title="E2E data efficiency (paper ACL Fig. 6)",
        panels=("bleu", "rouge_l"),
        x_label="% of the training pool (paper scale: all of E2E)",
        runs_are="seeds",
        paper=DATA_EFFICIENCY_PAPER,
        categorical=False,
        gap_metric="bleu",
    )
    return _per_dataset(_method_lines(table), results_csv, {"e2e": spec})


@dataclass(frozen=True)
class GridFigures:
    columns: tuple[str, ...]  # needed in the CSV beside the metric columns of each figure
    build: Callable[[pd.DataFrame, Path], list[tuple[FigureSpec, pd.DataFrame]]]


# grid name (results/<grid>.csv) -> its figures, in the order plot_all draws them
GRID_FIGURES = {
    "lowdata": GridFigures(
        ("dataset", "method", "model", "scale", "train_size", "status"), _lowdata
    ),
    "prefix-length": GridFigures(
        ("dataset", "method", "model", "scale", "method_config", "status"), _prefix_length
    ),
    "init": GridFigures(("dataset", "method", "model", "scale", "variant", "status"), _init),
    "data-efficiency": GridFigures(
        ("dataset", "method", "model", "scale", "train_fraction", "status"), _data_efficiency
    ),
}


def _figures(grid: str, results_csv: Path) -> list[tuple[FigureSpec, pd.DataFrame]]:
    """The (spec, runs) of every figure `grid`'s CSV can draw; [] when it holds no finished run."""
    try:
        # Text cells throughout ("not computed: ..." metric cells); numbers are coerced per column.
        table = pd.read_csv(results_csv, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return []
    _require(table, GRID_FIGURES[grid].columns, results_csv)
    finished = latest_finished(table)
    return GRID_FIGURES[grid].build(finished, results_csv)


def _per_dataset(
    table: pd.DataFrame, results_csv: Path, specs: dict[str, FigureSpec]
) -> list[tuple[FigureSpec, pd.DataFrame]]:
    """Split finished rows by dataset; keep rows with an x and at least one metric of the spec."""
    figures = []
    datasets = table["dataset"].str.strip()
    for dataset in sorted(set(datasets) - set(specs)):
        log.info("%s: %s rows are not in any figure of this grid", results_csv, dataset)
    for dataset, spec in sorted(specs.items()):
        runs = table[datasets == dataset]
        if runs.empty:
            continue
        _require(runs, spec.panels, results_csv)
        runs = runs.assign(**{m: pd.to_numeric(runs[m], errors="coerce") for m in spec.panels})
        runs = runs.dropna(subset=["x"]).dropna(subset=list(spec.panels), how="all")
        if not runs.empty:
            figures.append((spec, runs))
    return figures


def _require(table: pd.DataFrame, columns: tuple[str, ...], results_csv: Path) -> None:
    missing = [column for column in columns if column not in table.columns]
    if missing:
        raise ReportError(f"{results_csv} lacks the column(s) {', '.join(missing)}")


def _method_lines(table: pd.DataFrame) -> pd.DataFrame:
    return table.assign(line=table["method"].str.strip().map(lambda m: METHOD_LABELS.get(m, m)))


def _prefix_len(method_config: str) -> float:
    """`prefix_len` from a run's JSON method_config; NaN where it has none (e.g. fine-tuning)."""
    try:
        value = json.loads(method_config).get("prefix_len")
    except (json.JSONDecodeError, AttributeError):
        return float("nan")
    return float(value) if isinstance(value, int | float) else float("nan")


def _how_to_fix(grid: str) -> str:
    return f"run `python -m benchmark run --grid {grid}` first"


# ---- drawing --------------------------------------------------------------------------------------


def _write(spec: FigureSpec, runs: pd.DataFrame, out_dir: Path) -> list[Path]:
    """One figure per (model, scale) in `runs`, as PNG and PDF; the files written."""
    several_models = runs["model"].nunique() > 1
    several_scales = runs["scale"].nunique() > 1
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for (model, scale), group in runs.groupby(["model", "scale"], sort=True):
        suffix = (f"_{_slug(model)}" if several_models else "") + (
            f"_{_slug(scale)}" if several_scales else ""
        )
        with resources.as_file(resources.files(__package__).joinpath(STYLE)) as style:
            with matplotlib.style.context(style):
                figure = _draw(spec, group, model=str(model), scale=str(scale))
                for fmt in FIGURE_FORMATS:
                    path = out_dir / f"{spec.stem}{suffix}.{fmt}"
                    # No creation date in the PDF, so that the same CSV gives the same file.
                    metadata = {"CreationDate": None} if fmt == "pdf" else None
                    figure.savefig(path, metadata=metadata)
                    written.append(path)
                    log.info("wrote %s", path)
    return written


def _aggregate(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean, sample std (NaN for a single run) and count of `metric` per (line, x), leaving out
    runs whose `metric` is not a number."""
    scores = runs.dropna(subset=[metric])
    return scores.groupby(["line", "x"], sort=True)[metric].agg(["mean", "std", "count"])


def _draw(spec: FigureSpec, runs: pd.DataFrame, model: str, scale: str) -> Figure:
    """Metric panels against x, one line per group of runs, mean ± sample std at each x."""
    xs = _ordered(set(runs["x"]), spec.x_order)
    position = {x: i if spec.categorical else float(x) for i, x in enumerate(xs)}
    spread = sorted(position.values())
    # the dodge unit: one category, or the distance between the closest two x values
    step = min((b - a for a, b in zip(spread, spread[1:])), default=1.0)
    lines = _ordered(set(runs["line"]), spec.line_order)
    # lines are spread apart only where they share an x (the random-init point shares none)
    shared = runs.groupby("x")["line"].nunique().max() > 1
    ticks = dict(spec.tick_labels)

    figure = Figure(figsize=(PANEL_SIZE[0] * len(spec.panels), PANEL_SIZE[1]), layout="constrained")
    # Agg canvas attached to this figure only: no pyplot, no global backend switch, no window.
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(spec.panels), squeeze=False)[0]
    counts: set[int] = set()
    for ax, metric in zip(axes, spec.panels, strict=True):
        stats = _aggregate(runs, metric)
        for index, line in enumerate(lines):
            if line not in stats.index.get_level_values("line"):
                continue
            points = stats.loc[line]
            points = points.loc[[x for x in xs if x in points.index]]  # in drawing order
            offset = (index - (len(lines) - 1) / 2) * DODGE * step if shared else 0.0
            counts |= set(points["count"])
            ax.errorbar(
                [position[x] + offset for x in points.index],
                points["mean"],
                yerr=points["std"].fillna(0.0),  # a single run has no spread to show
                color=f"C{index}",  # the same colour for a line in every panel
                marker="o",
                linestyle="-" if spec.connect else "none",
                label=f"{line} (n={_span(points['count'])} runs/point)",
            )
        # category names (the initialisation words) that do not fit side by side are slanted
        labels = [ticks.get(x, _tick(x)) for x in xs]
        crowded = spec.categorical and sum(len(label) + 1 for label in labels) > 36
        slant = {"rotation": 40, "ha": "right"} if crowded else {}
        ax.set_xticks([position[x] for x in xs], labels, **slant)
        if spec.categorical:
            ax.set_xlim(-0.5, len(xs) - 0.5)
        name, unit = METRICS[metric]
        ax.set_xlabel(spec.x_label)
        ax.set_ylabel(f"{name} ({unit})")
        ax.set_title(name)
    axes[0].legend(loc="best")

    figure.suptitle(f"{spec.title}: {model}, scale {scale}")
    ours = ""
    if spec.gap_metric and (gap := _mean_gap(runs, spec.gap_metric)) is not None:
        name = METRICS[spec.gap_metric][0]
        ours = f"; these runs: prefix − fine-tune = {gap:+.1f} {name} on average"
    figure.text(
        0.0,
        -0.02,
        f"Each point: mean ± sample std over n={_span(counts)} runs ({spec.runs_are}){ours}.\n"
        f"{spec.paper}; no per-point values published, none drawn.",
        ha="left",
        va="top",
        fontsize="x-small",
    )
    return figure


def _mean_gap(runs: pd.DataFrame, metric: str) -> float | None:
    """Mean over x of (prefix mean - fine-tune mean); None unless both ran at some x."""
    means = runs.dropna(subset=[metric]).groupby(["method", "x"])[metric].mean()
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


def _ordered(values: set, first: tuple) -> list:
    """`first` (those present) in its order, then the other values sorted."""
    return [v for v in first if v in values] + sorted(values - set(first))


def _span(counts: Iterable[int]) -> str:
    """1 run count as "2", several as "1–3"."""
    counts = sorted(set(counts))
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"


def _tick(x: object) -> str:
    """Tick text of an x value: 50.0 -> "50", 12.5 -> "12.5", a category as it is."""
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else f"{x:g}"
    return str(x)


def _slug(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-") or "none"
