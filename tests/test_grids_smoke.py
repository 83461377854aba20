"""Every grid's smoke scale runs end to end through the command line (tiny models, seconds each).

`lowdata` is run in test_cli.py; here the others. XSUM grids use the fixture data dir of
conftest.py (real split file and test articles, invented train/dev articles and topics).
"""

from __future__ import annotations

import csv
import json
import math

import pytest

from benchmark.cli import main
from benchmark.experiments import GRIDS


def _rows(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _run(grid, data_dir, results):
    argv = ["run", "--grid", grid, "--scale", "smoke", "--data-dir", str(data_dir)]
    return main([*argv, "--results-dir", str(results)])


def test_every_grid_has_a_smoke_test():
    covered = {"lowdata"} | {grid for grid, _ in E2E_GRIDS} | {grid for grid, _ in XSUM_GRIDS}
    assert covered == set(GRIDS.names())


E2E_GRIDS = [
    ("table2", ["fine-tune", "ft-top2", "adapter-3%", "adapter-0.1%", "prefix-0.1%"]),
    ("intrinsic", ["prefix", "emb-1", "infix-1"]),  # smoke: one of each method
    ("init", ["init-random", "init-table-to-text"]),  # smoke: random and one word
    ("prefix-length", ["prefix-len-1", "prefix-len-5"]),
    ("data-efficiency", ["fine-tune", "prefix", "fine-tune", "prefix"]),
]  # fmt: skip
XSUM_GRIDS = [
    ("table3", ["fine-tune", "prefix-2%", "prefix-0.1%"]),
    ("extrapolation", ["fine-tune", "prefix", "fine-tune", "prefix"]),
]


def _check(rows, labels, metrics):
    assert [r["variant"] for r in rows] == labels
    for row in rows:
        assert row["status"] == "ok" and row["scale"] == "smoke", row["error"]
        for metric in metrics:
            assert math.isfinite(float(row[metric])), (row["run_id"], metric)


@pytest.mark.parametrize("grid, labels", E2E_GRIDS, ids=[g for g, _ in E2E_GRIDS])
def test_e2e_grid_smoke(grid, labels, e2e_dir, tmp_path):
    assert _run(grid, e2e_dir, tmp_path) == 0
    rows = _rows(tmp_path / f"{grid}.csv")
    _check(rows, labels, ("bleu", "rouge_l"))
    if grid == "prefix-length":
        lengths = [json.loads(r["method_config"])["prefix_len"] for r in rows]
        assert lengths == [1, 5]
        assert int(rows[1]["stored_params"]) == 5 * int(rows[0]["stored_params"])
    if grid == "data-efficiency":
        # fractions 20% and 80% of a 50-pair sample; steps = 1 epoch at batch 10
        assert [float(r["train_fraction"]) for r in rows] == [0.2, 0.2, 0.8, 0.8]
        assert [int(r["train_pairs"]) for r in rows] == [10, 10, 40, 40]
        assert [int(r["steps"]) for r in rows] == [1, 1, 4, 4]


@pytest.mark.parametrize("grid, labels", XSUM_GRIDS, ids=[g for g, _ in XSUM_GRIDS])
def test_xsum_grid_smoke(grid, labels, xsum_fixture_dir, tmp_path):
    assert _run(grid, xsum_fixture_dir, tmp_path) == 0
    rows = _rows(tmp_path / f"{grid}.csv")
    _check(rows, labels, ("rouge1", "rouge2", "rougeL"))
    for row in rows:
        assert row["model"] == "tiny-bart"
        assert json.loads(row["train_config"])["max_source_tokens"] == 512  # paper §5.3
        decode = json.loads(row["decode_config"])
        assert (decode["length_penalty"], decode["no_repeat_ngram_size"]) == (0.8, 3)
    if grid == "extrapolation":
        # invented topics: 12 sport and 12 health test articles; smoke scores the first 6
        assert {r["dataset"] for r in rows} == {"xsum-news2sports", "xsum-withinnews"}
        assert all(int(r["eval_size"]) == 6 for r in rows)
    prefix = [r for r in rows if r["method"] == "prefix"]
    assert all(json.loads(r["method_config"])["mid_dim"] == 800 for r in prefix)


def test_max_source_tokens_option_is_recorded(xsum_fixture_dir, tmp_path):
    argv = ["run", "--method", "finetune", "--dataset", "xsum", "--train-size", "50"]
    argv += ["--scale", "smoke", "--max-source-tokens", "1024"]
    argv += ["--data-dir", str(xsum_fixture_dir), "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    (row,) = _rows(tmp_path / "adhoc.csv")
    assert json.loads(row["train_config"])["max_source_tokens"] == 1024


def test_extrapolation_without_url_list_says_where_to_get_it(e2e_dir, tmp_path, capsys):
    # e2e_dir has the XSUM split file and test articles but no URL list
    if not (e2e_dir / "xsum" / "test.jsonl").is_file():
        pytest.skip("XSUM files not in the data dir")
    assert _run("extrapolation", e2e_dir, tmp_path) != 0
    err = capsys.readouterr().err
    assert "XSum-WebArxiveUrls-BBCids.txt" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("scale", ["smoke", "quick", "paper"])
@pytest.mark.parametrize("grid", GRIDS.names())
def test_every_grid_dry_runs(grid, scale, tmp_path, capsys):
    argv = ["run", "--grid", grid, "--scale", scale, "--dry-run", "--results-dir", str(tmp_path)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    count = len(GRIDS.get(grid).build(scale, None))
    assert out.startswith(f"{grid}: {count} runs, 0 done, {count} to run")
    assert out.count("[pending]") == count


def test_paper_version_is_case_insensitive(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("")
    argv = [
        "tables",
        "--results-dir",
        str(tmp_path),
        "--out",
        str(tmp_path),
        "--readme",
        str(readme),
    ]
    assert main([*argv, "--paper-version", "arxiv-v1"]) == 0
    assert "arXiv-v1 Table 1" in (tmp_path / "table2_e2e.md").read_text()
    with pytest.raises(SystemExit):
        main([*argv, "--paper-version", "v2"])
