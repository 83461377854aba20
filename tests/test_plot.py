"""Paper figures from results CSVs (Figures 3, 4, 5, ACL 6), and the packaged paper table."""

from __future__ import annotations

import csv
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
from matplotlib.figure import Figure

from benchmark.paper import load_reference_results
from benchmark.report.plot import (
    INIT_WORDS,
    ReportError,
    _aggregate,
    _draw,
    _figures,
    _paper_footnote,
    plot_all,
    plot_lowdata,
)

COLUMNS = [
    "dataset", "method", "model", "scale", "train_size", "subset", "seed", "status", "bleu", "rouge_l"
]  # fmt: skip


def _write_results(path: Path, rows: list[dict[str, object]]) -> Path:
    """Columns: the low-data ones, then any other key of the rows; cells a row lacks are empty."""
    columns = list(dict.fromkeys(COLUMNS + [key for row in rows for key in row]))
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def _lowdata_rows(model: str = "tiny", scale: str = "smoke") -> list[dict[str, object]]:
    """2 methods x 2 sizes x 2 seeds of finished runs."""
    rows: list[dict[str, object]] = []
    for method, base in (("finetune", 50.0), ("prefix", 53.0)):
        for train_size in (50, 100):
            for seed in (0, 1):
                rows.append(
                    dict(
                        dataset="e2e", method=method, model=model, scale=scale,
                        train_size=train_size, subset=0, seed=seed, status="ok",
                        bleu=base + train_size / 50 + seed, rouge_l=60.0 + seed,
                    )
                )  # fmt: skip
    return rows


def test_plot_writes_png_and_pdf(tmp_path: Path) -> None:
    rows = _lowdata_rows()
    rows[0]["rouge_l"] = "not computed: java not found"  # tolerated, dropped for that metric
    rows.append({**rows[1], "status": "failed", "bleu": ""})  # ignored: not finished
    rows.append({**rows[1], "dataset": "webnlg"})  # ignored: not in Figure 3
    results = _write_results(tmp_path / "results.csv", rows)

    written = plot_lowdata(results, tmp_path / "figures")

    assert written == [
        tmp_path / "figures" / "lowdata_e2e.png",
        tmp_path / "figures" / "lowdata_e2e.pdf",
    ]
    assert written[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert written[1].read_bytes()[:5] == b"%PDF-"
    # Same CSV, same PDF (no creation date embedded).
    first_pdf = written[1].read_bytes()
    plot_lowdata(results, tmp_path / "figures")
    assert written[1].read_bytes() == first_pdf


def test_one_figure_per_scale(tmp_path: Path) -> None:
    rows = _lowdata_rows(scale="smoke") + _lowdata_rows(scale="paper")
    results = _write_results(tmp_path / "results.csv", rows)
    names = sorted(path.name for path in plot_lowdata(results, tmp_path))
    assert names == [
        "lowdata_e2e_paper.pdf", "lowdata_e2e_paper.png",
        "lowdata_e2e_smoke.pdf", "lowdata_e2e_smoke.png",
    ]  # fmt: skip


def test_no_finished_runs_is_a_clear_error(tmp_path: Path) -> None:
    empty = _write_results(tmp_path / "empty.csv", [])
    with pytest.raises(ReportError, match="no finished e2e runs.*--grid lowdata"):
        plot_lowdata(empty, tmp_path)
    failed = _write_results(
        tmp_path / "failed.csv", [{**row, "status": "failed"} for row in _lowdata_rows()]
    )
    with pytest.raises(ReportError, match="no finished e2e runs"):
        plot_lowdata(failed, tmp_path)
    with pytest.raises(ReportError, match="no results file"):
        plot_lowdata(tmp_path / "absent.csv", tmp_path)
    (tmp_path / "blank.csv").write_text("")
    with pytest.raises(ReportError, match="no finished e2e runs"):
        plot_lowdata(tmp_path / "blank.csv", tmp_path)
    (tmp_path / "other.csv").write_text("dataset,method,bleu\ne2e,prefix,60\n")
    with pytest.raises(ReportError, match="lacks the column.*model, scale, train_size"):
        plot_lowdata(tmp_path / "other.csv", tmp_path)
    assert not list(tmp_path.glob("*.png"))


def test_footnote_quotes_the_paper() -> None:
    assert _paper_footnote() == (
        "paper: prefix beats fine-tune by 2.9 BLEU on average in low data (GPT-2 medium)"
    )


def test_reference_results_per_version() -> None:
    def e2e_prefix_bleu(version: str) -> str:
        table = load_reference_results(version)
        cell = table[
            (table["dataset"] == "e2e")
            & (table["model"] == "gpt2-medium")
            & (table["method"] == "prefix-0.1%")
            & (table["metric"] == "bleu")
            & (table["split_or_setting"] == "test")  # ACL Table 9 adds dev-set rows
        ]
        assert len(cell) == 1
        return cell["value"].iloc[0]

    assert e2e_prefix_bleu("ACL2021") == "70.3"
    assert e2e_prefix_bleu("arXiv-v1") == "69.7"
    acl = load_reference_results()
    assert acl["source"].str.startswith("ACL2021").all()
    assert not acl["approximate"].any()
    with pytest.raises(ValueError, match="unknown paper version"):
        load_reference_results("arXiv-v2")


def test_report_does_not_import_torch() -> None:
    code = "import sys, benchmark.report.plot; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run(
        [sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1]
    )


# ---- every figure: plot_all ------------------------------------------------------------------------

PDF, PNG = b"%PDF-", b"\x89PNG\r\n\x1a\n"


def _run(**cells: object) -> dict[str, object]:
    return {
        "dataset": "e2e",
        "method": "prefix",
        "model": "tiny",
        "scale": "smoke",
        "status": "ok",
    } | cells


def _xsum_lowdata_rows() -> list[dict[str, object]]:
    return [
        _run(dataset="xsum", method=method, train_size=size, seed=seed,
             rouge1=30.0 + seed, rouge2=10.0 + seed, rougeL=25.0 + seed)
        for method in ("finetune", "prefix") for size in (50, 100) for seed in (0, 1)
    ]  # fmt: skip


def _prefix_length_rows() -> list[dict[str, object]]:
    """DART and XSUM at prefix lengths 5/10/20, 2 seeds; metric = length + seed (mean length+0.5)."""
    rows = []
    for dataset, metrics in (("dart", ("bleu", "ter")), ("xsum", ("rouge2", "rougeL"))):
        for length in (5, 10, 20):
            for seed in (0, 1):
                config = json.dumps({"method": "prefix", "prefix_len": length, "reparam": "mlp"})
                rows.append(
                    _run(dataset=dataset, variant=f"prefix-len-{length}", method_config=config,
                         seed=seed, **{metric: length + seed for metric in metrics})
                )  # fmt: skip
    return rows


def _init_rows(model: str = "tiny") -> list[dict[str, object]]:
    variants = (
        ["init-random"] + ["init-" + word.rstrip(":") for word in INIT_WORDS] + ["init-zebra"]
    )
    return [
        _run(model=model, variant=variant, train_size=100, seed=seed,
             bleu=40.0 + index + seed, rouge_l=60.0 + seed)
        for index, variant in enumerate(variants) for seed in (0, 1)
    ]  # fmt: skip


def _data_efficiency_rows(model: str = "tiny") -> list[dict[str, object]]:
    return [
        _run(model=model, method=method, train_fraction=fraction, seed=seed,
             bleu=60.0 + 10 * fraction + seed, rouge_l=68.0 + seed)
        for method in ("finetune", "prefix") for fraction in (0.1, 0.2, 0.4, 0.6, 0.8)
        for seed in (0, 1)
    ]  # fmt: skip


def _footnote(figure: Figure) -> str:
    """The footnote's text, its wrapped lines joined by spaces."""
    [footnote] = [text for text in figure.texts if text.get_text() != figure.get_suptitle()]
    return " ".join(footnote.get_text().split())


def _means(ax) -> list[tuple[float, float, str, str]]:
    """(x, y, colour, fill) of the mean markers of a panel, in x order: the larger markers (the
    faint dots of single runs are translucent)."""
    points = [
        (float(line.get_xdata()[0]), float(line.get_ydata()[0]), line.get_color(),
         line.get_fillstyle())
        for line in ax.lines
        if line.get_marker() == "o" and line.get_alpha() is None and len(line.get_xdata()) == 1
    ]  # fmt: skip
    return sorted(points)


def _all_results(results: Path) -> Path:
    results.mkdir()
    _write_results(results / "lowdata.csv", _lowdata_rows() + _xsum_lowdata_rows())
    _write_results(results / "prefix-length.csv", _prefix_length_rows())
    _write_results(results / "init.csv", _init_rows())
    _write_results(results / "data-efficiency.csv", _data_efficiency_rows())
    return results


def test_plot_all_draws_every_figure_deterministically(tmp_path: Path) -> None:
    results = _all_results(tmp_path / "results")
    written = plot_all(results, tmp_path / "figures")

    stems = [
        "lowdata_e2e", "lowdata_xsum", "prefix_length_dart", "prefix_length_xsum", "init_e2e",
        "data_efficiency_e2e",
    ]  # fmt: skip
    assert written == [tmp_path / "figures" / f"{s}.{fmt}" for s in stems for fmt in ("png", "pdf")]
    for path in written:
        assert path.read_bytes().startswith(PNG if path.suffix == ".png" else PDF)
    pdfs = {path: path.read_bytes() for path in written if path.suffix == ".pdf"}
    assert plot_all(results, tmp_path / "figures") == written
    assert {path: path.read_bytes() for path in pdfs} == pdfs  # same CSVs, same PDFs


def test_plot_lowdata_draws_xsum_panels(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "lowdata.csv", _xsum_lowdata_rows())
    assert [path.name for path in plot_lowdata(results, tmp_path)] == [
        "lowdata_xsum.png", "lowdata_xsum.pdf"
    ]  # fmt: skip
    [(spec, runs)] = _figures("lowdata", results)
    figure = _draw(spec, runs, "tiny", "smoke")
    panels = [ax.get_ylabel() for ax in figure.axes]
    assert panels == ["ROUGE-1", "ROUGE-2", "ROUGE-L"]  # the scale is in the footnote
    assert [t.get_text() for t in figure.axes[0].get_xticklabels()] == ["50", "100"]


def test_failed_rows_and_non_numbers_do_not_move_the_mean(tmp_path: Path) -> None:
    rows = _lowdata_rows()
    prefix_50 = rows[4]  # prefix at 50 pairs: bleu 54 and 55, rouge_l 60 and 61 (seeds 0, 1)
    assert (prefix_50["method"], prefix_50["train_size"], prefix_50["bleu"]) == ("prefix", 50, 54)
    rows.append({**prefix_50, "status": "failed", "bleu": 1e6, "rouge_l": 1e6})
    rows.append({**prefix_50, "seed": 2, "bleu": "not computed: java not found", "rouge_l": 62})
    [(_, runs)] = _figures("lowdata", _write_results(tmp_path / "r.csv", rows))

    bleu = _aggregate(runs, "bleu").loc[("Prefix", 50)]
    assert (bleu["mean"], bleu["count"]) == (54.5, 2)
    assert bleu["std"] == pytest.approx(0.5**0.5)  # sample std (ddof=1) of 54 and 55
    rouge = _aggregate(runs, "rouge_l").loc[("Prefix", 50)]  # the seed-2 row still counts here
    assert (rouge["mean"], rouge["count"]) == (61.0, 3)


def test_prefix_length_figure(tmp_path: Path) -> None:
    rows = _prefix_length_rows()
    rows.append(_run(dataset="dart", method="finetune", method_config="{}", bleu=99.0))  # no P
    results = _write_results(tmp_path / "prefix-length.csv", rows)
    dart, xsum = _figures("prefix-length", results)

    stats = _aggregate(dart[1], "ter")
    assert list(stats.index) == [("Prefix", 5.0), ("Prefix", 10.0), ("Prefix", 20.0)]
    assert list(stats["mean"]) == [5.5, 10.5, 20.5]
    figure = _draw(*dart, "tiny", "smoke")
    _, ter_ax = figure.axes
    assert ter_ax.get_ylabel() == "TER (lower is better)"
    assert "TER a fraction" in _footnote(figure)  # the paper's print scale, stated
    assert list(ter_ax.get_xticks()) == [5.0, 10.0, 20.0]  # numeric axis, the lengths as ticks
    assert [t.get_text() for t in ter_ax.get_xticklabels()] == ["5", "10", "20"]
    assert "Fig. 4" in figure.get_suptitle() and "tiny" in figure.get_suptitle()
    assert "n=2 runs (seeds)" in _footnote(figure)
    assert "(200 for summarisation, 10 for table-to-text) then drops slightly" in _footnote(figure)
    assert [ax.get_ylabel() for ax in _draw(*xsum, "tiny", "smoke").axes] == [
        "ROUGE-2", "ROUGE-L"
    ]  # fmt: skip


def test_init_figure_orders_words_and_colours_random_apart(tmp_path: Path) -> None:
    results = _write_results(tmp_path / "init.csv", _init_rows()[::-1])  # order of rows is moot
    [(spec, runs)] = _figures("init", results)
    figure = _draw(spec, runs, "tiny", "smoke")
    bleu_ax = figure.axes[0]
    ticks = [t.get_text() for t in bleu_ax.get_xticklabels()]
    assert ticks == ["random", *INIT_WORDS, "zebra"]
    means = _means(bleu_ax)  # random first, then the words in the paper's order
    assert [x for x, _, _, _ in means] == list(range(10))  # not dodged: no x is shared
    assert means[0][2] != means[1][2]  # random's colour is not the words'
    assert {colour for _, _, colour, _ in means[1:]} == {means[1][2]}
    assert "real words beat random initialisation" in _footnote(figure)


def test_crowded_category_labels_are_slanted(tmp_path: Path) -> None:
    # the quick init grid: 5 ticks whose names overlapped side by side ("summarize", "table-to-text:")
    quick = {"init-random", "init-table-to-text", "init-summarize", "init-elephant", "init-divide"}
    rows = [row for row in _init_rows() if row["variant"] in quick]
    [(spec, runs)] = _figures("init", _write_results(tmp_path / "init.csv", rows))
    labels = _draw(spec, runs, "tiny", "quick").axes[0].get_xticklabels()
    assert len(labels) == 5 and {label.get_rotation() for label in labels} == {40.0}
    few = [row for row in rows if row["variant"] in ("init-random", "init-divide")]
    [(spec, runs)] = _figures("init", _write_results(tmp_path / "few.csv", few))
    assert {t.get_rotation() for t in _draw(spec, runs, "t", "q").axes[0].get_xticklabels()} == {0}


def test_data_efficiency_figure_and_model_suffix(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    rows = _data_efficiency_rows("m-a") + _data_efficiency_rows("m/b")
    _write_results(results / "data-efficiency.csv", rows)
    written = plot_all(results, tmp_path / "figures")
    assert [path.name for path in written] == [
        "data_efficiency_e2e_m-a.png", "data_efficiency_e2e_m-a.pdf",
        "data_efficiency_e2e_m-b.png", "data_efficiency_e2e_m-b.pdf",
    ]  # fmt: skip
    [(spec, runs)] = _figures("data-efficiency", results / "data-efficiency.csv")
    figure = _draw(spec, runs[runs["model"] == "m-a"], "m-a", "smoke")
    labels = [t.get_text() for t in figure.axes[0].get_xticklabels()]
    assert labels == ["10", "20", "40", "60", "80"]
    assert "above 20% of the data" in _footnote(figure)
    assert "+0.0 BLEU" in _footnote(figure)  # both methods score the same here


def test_plot_all_skips_grids_not_run(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    results = tmp_path / "results"
    results.mkdir()
    _write_results(results / "init.csv", _init_rows())
    _write_results(results / "lowdata.csv", [{**r, "status": "failed"} for r in _lowdata_rows()])
    (results / "data-efficiency.csv").write_text("")
    with caplog.at_level(logging.INFO, logger="benchmark.report.plot"):
        written = plot_all(results, tmp_path / "figures")
    assert [path.name for path in written] == ["init_e2e.png", "init_e2e.pdf"]
    not_run = [r.getMessage().split(":")[0] for r in caplog.records if "not run" in r.getMessage()]
    assert not_run == ["lowdata", "prefix-length", "data-efficiency"]


def test_plot_all_with_nothing_to_draw_says_what_to_run(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"python -m benchmark run --grid lowdata`.*init"):
        plot_all(tmp_path, tmp_path / "figures")
    _write_results(tmp_path / "init.csv", [{**r, "status": "failed"} for r in _init_rows()])
    with pytest.raises(ReportError, match="nothing to plot"):
        plot_all(tmp_path, tmp_path / "figures")
    assert not (tmp_path / "figures").exists()


def test_missing_column_names_file_and_column(tmp_path: Path) -> None:
    rows = [{k: v for k, v in row.items() if k != "method_config"} for row in _prefix_length_rows()]
    _write_results(tmp_path / "prefix-length.csv", rows)
    with pytest.raises(
        ReportError, match=r"prefix-length\.csv lacks the column\(s\) method_config"
    ):
        plot_all(tmp_path, tmp_path / "figures")
    rows = [{k: v for k, v in row.items() if k != "ter"} for row in _prefix_length_rows()]
    _write_results(tmp_path / "prefix-length.csv", rows)
    with pytest.raises(ReportError, match=r"prefix-length\.csv lacks the column\(s\) ter$"):
        plot_all(tmp_path, tmp_path / "figures")


# ---- what a reader trusts at a glance ------------------------------------------------------------


def _mixed_counts(tmp_path: Path) -> Path:
    """Prefix: 2 runs at 50 pairs, 1 at 100; fine-tune 1 run at each. Prefix at 50, seed 1 had not
    converged (its run.json), fine-tune at 100 had (its own CSV cell)."""
    falling = tmp_path / "runs" / "falling"
    falling.mkdir(parents=True)
    (falling / "run.json").write_text(json.dumps({"dev_losses": [[25, 2.0], [50, 1.5]]}))
    rows = [
        _run(method="prefix", train_size=50, seed=0, bleu=54.0, rouge_l=60.0),
        _run(method="prefix", train_size=50, seed=1, bleu=56.0, rouge_l=61.0,
             outputs_dir="runs/falling"),
        _run(method="prefix", train_size=100, seed=0, bleu=57.0, rouge_l=62.0),
        _run(method="finetune", train_size=50, seed=0, bleu=52.0, rouge_l=60.0),
        _run(method="finetune", train_size=100, seed=0, bleu=53.0, rouge_l=60.0,
             converged="True"),
    ]  # fmt: skip
    return _write_results(tmp_path / "lowdata.csv", rows)


def test_intervals_only_where_there_are_two_runs(tmp_path: Path) -> None:
    from benchmark.report.stats import bootstrap_mean

    [(spec, runs)] = _figures("lowdata", _mixed_counts(tmp_path))
    figure = _draw(spec, runs, "tiny", "smoke")
    bleu_ax = figure.axes[0]
    [bars] = bleu_ax.containers  # one interval: prefix at 50 pairs, the only point with 2 runs
    [segment] = bars.lines[2][0].get_segments()
    _, low, high = bootstrap_mean([54.0, 56.0])
    assert [y for _, y in segment] == pytest.approx([low, high])
    faint = [line for line in bleu_ax.lines if line.get_alpha() is not None]
    assert sorted(float(line.get_ydata()[0]) for line in faint) == [54.0, 56.0]
    assert len(_means(bleu_ax)) == 4
    assert bleu_ax.get_ylabel() == "BLEU"
    assert "95% percentile-bootstrap interval" in _footnote(figure)
    stats = _aggregate(runs, "bleu")
    assert stats.loc[("Fine-tune", 50), "low"] != stats.loc[("Fine-tune", 50), "low"]  # NaN


def test_non_converged_runs_are_hollow_and_the_legend_says_so(tmp_path: Path) -> None:
    [(spec, runs)] = _figures("lowdata", _mixed_counts(tmp_path))
    figure = _draw(spec, runs, "tiny", "smoke")
    fills = {(x, y): fill for x, y, _, fill in _means(figure.axes[0])}
    assert fills[min(fills, key=lambda p: abs(p[1] - 55.0))] == "none"  # prefix at 50: 1 stalled
    assert fills[min(fills, key=lambda p: abs(p[1] - 53.0))] == "full"  # its own CSV cell
    assert fills[min(fills, key=lambda p: abs(p[1] - 52.0))] == "left"  # unknown: no dev checks
    [legend] = figure.legends
    labels = [text.get_text() for text in legend.get_texts()]
    assert labels[:2] == ["Fine-tune (1 run/point)", "Prefix (1–2 runs/point)"]
    assert any(label.startswith("not converged") for label in labels)
    assert "convergence unknown (< 2 dev checks)" in labels


def test_the_legend_covers_no_axes(tmp_path: Path) -> None:
    results = _all_results(tmp_path / "results")
    for grid in ("lowdata", "init", "data-efficiency"):
        for spec, runs in _figures(grid, results / f"{grid}.csv"):
            figure = _draw(spec, runs, "tiny", "smoke")
            figure.canvas.draw()
            [legend] = figure.legends
            box = legend.get_window_extent()
            for ax in figure.axes:
                assert not box.overlaps(ax.get_window_extent()), (spec.stem, ax.get_title())


def test_y_axis_spans_the_papers_range(tmp_path: Path) -> None:
    from benchmark.paper import FIGURE_AXES

    [(spec, runs)] = _figures("lowdata", _mixed_counts(tmp_path))
    figure = _draw(spec, runs, "tiny", "smoke")
    for ax, metric in zip(figure.axes, ("bleu", "rouge_l")):
        low, high = FIGURE_AXES[("Figure 3", "e2e")][metric]
        bottom, top = ax.get_ylim()
        assert bottom < low and top > max(high, 57.0)  # the paper's range and all our points
    assert "spanning the paper's axis range (BLEU 50–60, ROUGE-L 60–66)" in _footnote(figure)


def test_the_footnotes_gap_is_paired_over_the_units_both_methods_ran() -> None:
    """While a grid fills in, fine-tune may have a unit prefix has not: the footnote's gap pairs
    (x, subset, seed) units as the claims scorecard does, never the two means of unequal sets."""
    import pandas as pd

    from benchmark.report.plot import _mean_gap

    runs = pd.DataFrame(
        [
            ("finetune", 50, 0, 0, 60.0),
            ("prefix", 50, 0, 0, 62.0),
            ("finetune", 50, 1, 0, 50.0),  # a weak unit prefix has not run yet
            ("finetune", 100, 0, 0, 64.0),
            ("prefix", 100, 0, 0, 65.0),
        ],
        columns=["method", "x", "subset", "seed", "bleu"],
    )
    assert _mean_gap(runs, "bleu") == (1.5, 2, 0)  # unpaired means would say +3.0 at 50 pairs
    assert _mean_gap(runs[runs["method"] == "prefix"], "bleu") is None
    # a paired unit with a run that had not converged is counted, so the footnote can say so
    marked = runs.assign(converged=[True, False, True, True, None])
    assert _mean_gap(marked, "bleu") == (1.5, 2, 1)
