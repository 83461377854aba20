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

Each point is the mean over its finished runs (``status == "ok"``; the newest row of a run redone)
with a 95% percentile-bootstrap interval over them (`benchmark.report.stats`) where it has two or
more, and no bar where it has one; the runs themselves are faint dots. Markers say whether the runs
had converged (`benchmark.report.convergence`): filled yes, hollow no, half-filled unknown (fewer
than two dev checks). The legend sits below the panels, never over a point. Y axes are on the
paper's scale (BLEU and ROUGE x100, TER a fraction) and span the paper's own axis range
(`paper.FIGURE_AXES`) as well as our runs. The paper publishes no per-point values for these
figures (setup.md §10), so nothing of the paper is drawn; the footnote quotes what the paper states
about each figure. Reads the results CSVs (and each run's run.json) only; never imports torch.
"""

from __future__ import annotations

import json
import logging
import math
import re
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import matplotlib.style
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from benchmark.errors import ReportError
from benchmark.paper import DISPLAY, FIGURE_AXES, INIT_WORDS, init_label, load_reference_results
from benchmark.report import latest_finished
from benchmark.report.convergence import CONVERGED_BELOW, add_convergence
from benchmark.report.stats import RESAMPLES, bootstrap_mean

log = logging.getLogger(__name__)

STYLE = "paper.mplstyle"  # packaged beside this module
FIGURE_FORMATS = ("png", "pdf")
PANEL_SIZE = (3.0, 2.5)  # inches per metric panel: two panels fit a 6-inch text width
FOOTNOTE_CHARS_PER_INCH = 24  # x-small serif: the footnote wraps within the panels' width

# CSV column -> (name, scale as stored by benchmark.metrics, the paper's print scale too)
METRICS = {
    "bleu": ("BLEU", "×100"),
    "rouge_l": ("ROUGE-L", "×100"),  # E2E, pycocoevalcap
    "rouge1": ("ROUGE-1", "×100"),  # XSUM, rouge-score
    "rouge2": ("ROUGE-2", "×100"),
    "rougeL": ("ROUGE-L", "×100"),
    "ter": ("TER", "a fraction"),  # WebNLG/DART TER is printed as a fraction
}
LOWER_IS_BETTER = {"ter"}
RUN_ALPHA = 0.35  # the faint dots of single runs behind a mean
Y_PAD = 0.06  # fraction of the y span added above and below the drawn values
# a point's marker by the convergence of its runs: any not converged -> hollow; else any
# unknown -> half-filled; all converged -> filled
FILL = {True: "full", None: "left", False: "none"}
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
    "paper (ACL §7.4, Fig. 5): real words beat random initialisation; task-relevant words "
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
    paper_axes: dict[str, tuple[float, float]] | None = None  # the paper's y range per panel


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
            paper_axes=FIGURE_AXES[("Figure 3", "e2e")],
        ),
        "xsum": FigureSpec(
            stem="lowdata_xsum",
            title="XSUM low-data (paper Fig. 3)",
            panels=("rouge1", "rouge2", "rougeL"),
            x_label="training size (articles)",
            paper=XSUM_LOWDATA_PAPER,
            runs_are="subsets × training seeds",
            gap_metric="rouge2",
            paper_axes=FIGURE_AXES[("Figure 3", "xsum")],
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
            paper_axes=FIGURE_AXES.get(("Figure 4", dataset)),  # E2E is not a paper panel
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
        paper_axes=FIGURE_AXES[("Figure 5", "e2e")],
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
        paper_axes=FIGURE_AXES[("Figure 6", "e2e")],
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
    finished = add_convergence(latest_finished(table), results_csv.parent)
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


def _state(converged: pd.Series) -> bool | None:
    """A point's convergence: False if any run had not converged, else None if any is unknown."""
    values = list(converged)
    if any(value is False for value in values):
        return False
    return None if any(value is None for value in values) else True


def _aggregate(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Per (line, x): mean, sample std (NaN for one run), count, the 95% bootstrap interval
    (low, high; NaN for one run) and the runs' convergence (`_state`), leaving out runs whose
    `metric` is not a number."""
    scores = runs.dropna(subset=[metric])
    if "converged" not in scores.columns:
        scores = scores.assign(converged=None)
    rows = []
    for (line, x), group in scores.groupby(["line", "x"], sort=True):
        values = list(group[metric])
        low, high = bootstrap_mean(values)[1:] if len(values) > 1 else (math.nan, math.nan)
        rows.append(
            {
                "line": line,
                "x": x,
                "mean": float(group[metric].mean()),
                "std": float(group[metric].std()) if len(values) > 1 else math.nan,
                "count": len(values),
                "low": low,
                "high": high,
                "converged": _state(group["converged"]),
            }
        )
    columns = ["line", "x", "mean", "std", "count", "low", "high", "converged"]
    return pd.DataFrame(rows, columns=columns).set_index(["line", "x"])


def _marker(ax, x: float, y: float, colour: str, state: bool | None, **style) -> None:
    ax.plot(
        [x], [y], marker="o", linestyle="none", color=colour, fillstyle=FILL[state],
        markerfacecoloralt="white", **style,
    )  # fmt: skip


def _y_limits(values: list[float], paper: tuple[float, float] | None) -> tuple[float, float]:
    """Our drawn values and the paper's axis range, padded."""
    span = [v for v in values if math.isfinite(v)] + list(paper or ())
    low, high = min(span), max(span)
    pad = (high - low) * Y_PAD or 1.0
    return low - pad, high + pad


def _draw(spec: FigureSpec, runs: pd.DataFrame, model: str, scale: str) -> Figure:
    """Metric panels against x, one line per group of runs: each point the mean of its runs
    with a 95% interval where it has two or more, the runs as faint dots."""
    xs = _ordered(set(runs["x"]), spec.x_order)
    position = {x: i if spec.categorical else float(x) for i, x in enumerate(xs)}
    spread = sorted(position.values())
    # the dodge unit: one category, or the distance between the closest two x values
    step = min((b - a for a, b in zip(spread, spread[1:])), default=1.0)
    lines = _ordered(set(runs["line"]), spec.line_order)
    # lines are spread apart only where they share an x (the random-init point shares none)
    shared = runs.groupby("x")["line"].nunique().max() > 1
    ticks = dict(spec.tick_labels)
    if "converged" not in runs.columns:
        runs = runs.assign(converged=None)

    figure = Figure(figsize=(PANEL_SIZE[0] * len(spec.panels), PANEL_SIZE[1]), layout="constrained")
    # Agg canvas attached to this figure only: no pyplot, no global backend switch, no window.
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, len(spec.panels), squeeze=False)[0]
    counts: set[int] = set()
    states: set[bool | None] = set()
    handles: dict[str, Line2D] = {}
    for ax, metric in zip(axes, spec.panels, strict=True):
        stats = _aggregate(runs, metric)
        drawn: list[float] = []
        for index, line in enumerate(lines):
            if line not in stats.index.get_level_values("line"):
                continue
            colour = f"C{index}"  # the same colour for a line in every panel
            points = stats.loc[line]
            points = points.loc[[x for x in xs if x in points.index]]  # in drawing order
            offset = (index - (len(lines) - 1) / 2) * DODGE * step if shared else 0.0
            where = [position[x] + offset for x in points.index]
            counts |= set(points["count"])
            if spec.connect and len(points) > 1:
                ax.plot(where, points["mean"], color=colour, linestyle="-", zorder=1)
            for (x, point), at in zip(points.iterrows(), where):
                states.add(point["converged"])
                if point["count"] > 1:  # an interval only where there are runs to spread
                    ax.errorbar(
                        [at], [point["mean"]], color=colour, linestyle="none", zorder=2,
                        yerr=[[point["mean"] - point["low"]], [point["high"] - point["mean"]]],
                    )  # fmt: skip
                    drawn += [point["low"], point["high"]]
                    single = runs[(runs["line"] == line) & (runs["x"] == x)].dropna(subset=[metric])
                    for value, converged in zip(single[metric], single["converged"]):
                        _marker(ax, at, value, colour, converged, alpha=RUN_ALPHA, zorder=2)
                        drawn.append(value)
                _marker(ax, at, point["mean"], colour, point["converged"], zorder=3, markersize=5)
                drawn.append(point["mean"])
            handles[line] = Line2D(
                [], [], color=colour, marker="o", linestyle="-" if spec.connect else "none",
                label=f"{line} ({_runs(points['count'])}/point)",
            )  # fmt: skip
        # category names (the initialisation words) that do not fit side by side are slanted
        labels = [ticks.get(x, _tick(x)) for x in xs]
        crowded = spec.categorical and sum(len(label) + 1 for label in labels) > 36
        slant = {"rotation": 40, "ha": "right"} if crowded else {}
        ax.set_xticks([position[x] for x in xs], labels, **slant)
        if spec.categorical:
            ax.set_xlim(-0.5, len(xs) - 0.5)
        name, _ = METRICS[metric]
        paper_range = (spec.paper_axes or {}).get(metric)
        ax.set_ylim(*_y_limits(drawn, paper_range))
        ax.set_xlabel(spec.x_label)
        ax.set_ylabel(f"{name} (lower is better)" if metric in LOWER_IS_BETTER else name)
        ax.set_title(name)
    legend = list(handles.values()) + _state_handles(states)
    figure.suptitle(f"{spec.title}: {model}, scale {scale}")
    # the legend below the figure's area, so never over a point, and the footnote below it
    key = figure.legend(
        handles=legend, loc="upper center", bbox_to_anchor=(0.5, -0.01), ncols=2, frameon=False
    )
    box = key.get_window_extent(figure.canvas.get_renderer())
    bottom = box.transformed(figure.transFigure.inverted()).y0
    footnote = _footnote_text(spec, runs, counts)
    figure.text(0.0, bottom - 0.02, footnote, ha="left", va="top", fontsize="x-small")
    return figure


def _state_handles(states: set[bool | None]) -> list[Line2D]:
    """Legend entries for the marker fills in use (a grey marker each)."""
    words = {
        True: "converged",
        None: "convergence unknown (< 2 dev checks)",
        False: f"not converged (dev loss fell ≥ {CONVERGED_BELOW:.0%} at the last check)",
    }
    if states <= {True}:
        return []
    return [
        Line2D(
            [],
            [],
            color="0.4",
            marker="o",
            linestyle="none",
            fillstyle=FILL[state],
            markerfacecoloralt="white",
            label=words[state],
        )  # fmt: skip
        for state in (True, None, False)
        if state in states
    ]


def _footnote_text(spec: FigureSpec, runs: pd.DataFrame, counts: set[int]) -> str:
    ours = ""
    if spec.gap_metric and (gap := _mean_gap(runs, spec.gap_metric)) is not None:
        name, (mean, units, stale) = METRICS[spec.gap_metric][0], gap
        ours = f"; these runs: prefix − fine-tune = {mean:+.1f} {name}, paired over {units} units"
        if stale:
            ours += f" ({stale} with a run that had not converged)"
    if max(counts, default=1) > 1:
        few = "; with 2-3 runs it is close to their range" if min(counts) <= 3 else ""
        points = (
            f"Each point: the mean of its n={_span(counts)} runs ({spec.runs_are}), with a 95% "
            f"percentile-bootstrap interval over them where n ≥ 2 ({RESAMPLES:,} resamples{few}); "
            "faint dots: the runs"
        )
    else:
        points = "One run per point, so no interval"
    scales = ", ".join(f"{METRICS[m][0]} {METRICS[m][1]}" for m in dict.fromkeys(spec.panels))
    axes = f"Y axes on the paper's scale ({scales})"
    if spec.paper_axes:
        ranges = ", ".join(
            f"{METRICS[m][0]} {low:g}–{high:g}"
            for m, (low, high) in spec.paper_axes.items()
            if m in spec.panels
        )
        axes += f", spanning the paper's axis range ({ranges}) and our runs"
    else:
        axes += "; the paper has no panel for this dataset"
    lines = (f"{points}{ours}.", f"{axes}.", f"{spec.paper}; no per-point values published.")
    width = int(FOOTNOTE_CHARS_PER_INCH * PANEL_SIZE[0] * len(spec.panels))
    return "\n".join(textwrap.fill(line, width) for line in lines)


def _mean_gap(runs: pd.DataFrame, metric: str) -> tuple[float, int, int] | None:
    """Prefix minus fine-tune, paired as the claims scorecard pairs them: the mean difference
    over the (x, subset, seed) units both methods ran, their count, and how many of them have a
    run that had not converged (the scorecard leaves those out; the figure draws them hollow);
    None when they share none. While a grid fills in, the two methods' means at an x come from
    different units, so their difference is not the paired one."""
    unit = [c for c in ("x", "subset", "seed") if c in runs.columns]
    stale = runs.get("converged", pd.Series(None, index=runs.index)).map(lambda c: c is False)
    per_unit = (
        runs.assign(stale=stale)
        .dropna(subset=[metric])
        .groupby(["method", *unit])
        .agg(value=(metric, "mean"), stale=("stale", "any"))
    )
    if not {"prefix", "finetune"} <= set(per_unit.index.get_level_values("method")):
        return None
    prefix, finetune = per_unit.loc["prefix"], per_unit.loc["finetune"]
    difference = (prefix["value"] - finetune["value"]).dropna()
    if difference.empty:
        return None
    flagged = (prefix["stale"] | finetune["stale"]).reindex(difference.index)
    return float(difference.mean()), len(difference), int(flagged.sum())


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


def _runs(counts: Iterable[int]) -> str:
    """ "1 run", "2 runs", "1–3 runs"."""
    span = _span(counts)
    return f"{span} run" + ("" if span == "1" else "s")


def _tick(x: object) -> str:
    """Tick text of an x value: 50.0 -> "50", 12.5 -> "12.5", a category as it is."""
    if isinstance(x, float):
        return str(int(x)) if x.is_integer() else f"{x:g}"
    return str(x)


def _slug(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", str(name)).strip("-") or "none"
