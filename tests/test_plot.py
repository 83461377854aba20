"""Low-data figure from a results CSV, and the packaged paper table. No torch anywhere."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.report.paper import load_reference_results
from benchmark.report.plot import ReportError, _paper_footnote, plot_lowdata

COLUMNS = [
    "dataset", "method", "model", "scale", "train_size", "subset", "seed", "status", "bleu", "rouge_l"
]  # fmt: skip


def _write_results(path: Path, rows: list[dict[str, object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
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
    rows.append({**rows[1], "dataset": "xsum"})  # ignored: another dataset
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
