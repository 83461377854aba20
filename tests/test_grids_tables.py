"""Every shipped grid instantiates at every scale; the tables put the paper's numbers beside ours."""

from __future__ import annotations

import csv
import json

import pytest

from benchmark.cli import main
from benchmark.experiments import GRIDS
from benchmark.experiments.recipes import SCALES
from benchmark.methods import METHODS
from benchmark.models import MODELS
from benchmark.report.tables import TABLES, build_table


@pytest.mark.parametrize("scale", SCALES)
@pytest.mark.parametrize("grid", GRIDS.names())
def test_every_grid_builds_at_every_scale(grid, scale):
    specs = GRIDS.get(grid).build(scale, None)
    assert specs
    assert len({s.run_id for s in specs}) == len(specs)  # run ids are unique within a grid
    for spec in specs:
        METHODS.get(spec.method).make_config(spec.method_options)  # options are valid
        assert spec.model in MODELS
        assert spec.model.startswith("tiny-") == (scale == "smoke")


def test_lowdata_paper_scale_is_the_papers_protocol():
    every = GRIDS.get("lowdata").build("paper", None)
    assert len(every) == 2 * 4 * 5 * 2 * 2  # E2E and XSUM panels
    specs = [s for s in every if s.dataset == "e2e"]
    xsum = {(s.method, s.train_size): s for s in every if s.dataset == "xsum"}
    # ACL Table 8 epochs x ceil(n / batch), ACL A.2 batch 5 (prefix) / 6 (fine-tune), "summarize"
    assert xsum[("prefix", 50)].train.max_steps == 30 * 10
    assert xsum[("finetune", 500)].train.max_steps == 3 * 84
    assert xsum[("prefix", 100)].method_options == {"init_text": "summarize", "mid_dim": 800}
    assert xsum[("prefix", 100)].train.warmup_steps == 100
    steps = {(s.method, s.train_size): s.train.max_steps for s in specs}
    assert steps[("prefix", 500)] == 400 and steps[("finetune", 50)] == 100  # ACL Table 8
    prefix = next(s for s in specs if s.method == "prefix")
    assert prefix.method_options == {"init_text": "table-to-text:"}  # ACL A.2
    assert (
        prefix.train.lr == 5e-5 and prefix.train.batch_size == 10 and prefix.decode.num_beams == 5
    )


def test_table2_paper_scale_uses_table6_settings():
    specs = {(s.dataset, s.label): s for s in GRIDS.get("table2").build("paper", None)}
    prefix = specs[("e2e", "prefix-0.1%")]
    assert (prefix.train.lr, prefix.train.batch_size) == (8e-5, 10)
    assert prefix.train.max_steps == 4207 * 5  # 5 epochs of 42,061 pairs at batch 10
    assert prefix.method_options == {"prefix_len": 5}
    assert specs[("dart", "prefix-0.1%")].method_options == {"prefix_len": 10}
    assert specs[("webnlg", "fine-tune")].train.lr == 1e-5


def test_summarisation_grids_use_the_papers_settings():
    table3 = {s.label: s for s in GRIDS.get("table3").build("paper", None)}
    prefix = table3["prefix-2%"]
    assert (prefix.train.lr, prefix.train.batch_size) == (5e-5, 14)  # ACL Table 6 XSUM
    assert prefix.train.max_steps == 30 * -(-204_045 // 14)
    assert prefix.method_options == {"prefix_len": 100, "mid_dim": 800}
    assert table3["prefix-0.1%"].method_options["prefix_len"] == 5
    assert (prefix.train.max_source_tokens, prefix.train.max_target_tokens) == (512, 60)
    assert (prefix.decode.num_beams, prefix.decode.length_penalty) == (6, 0.8)  # paper §5.3
    extrapolation = {
        (s.dataset, s.label): s for s in GRIDS.get("extrapolation").build("paper", None)
    }
    sports = extrapolation[("xsum-news2sports", "prefix")]
    assert (sports.train.epochs, sports.train.batch_size) == (15, 36)  # ACL Table 6
    assert sports.method_options["prefix_len"] == 40
    assert extrapolation[("xsum-withinnews", "prefix")].method_options["prefix_len"] == 80
    assert sports.train.for_training_set(100).max_steps == 15 * 3
    # the quick recipe: test_quick_xsum_recipe_is_the_measured_one


def test_figure_grids():
    lengths = GRIDS.get("prefix-length").build("paper", None)
    by_dataset = {}
    for spec in lengths:
        by_dataset.setdefault(spec.dataset, []).append(spec.method_options["prefix_len"])
    assert by_dataset == {"dart": [1, 5, 10, 20, 40], "xsum": [1, 10, 20, 50, 80, 100, 200, 300]}
    assert {s.train.lr for s in lengths if s.dataset == "dart"} == {5e-5}  # Table 6 DART prefix
    efficiency = GRIDS.get("data-efficiency").build("paper", None)
    assert sorted({s.train_fraction for s in efficiency}) == [0.1, 0.2, 0.4, 0.6, 0.8]
    prefix = next(s for s in efficiency if s.method == "prefix")
    assert "init_text" not in prefix.method_options  # ACL §7.5: no initialisation trick
    assert (prefix.train_size, prefix.train.epochs, prefix.train.lr) == (0, 5, 8e-5)
    assert prefix.run_id == "e2e/prefix/n=full/frac=0.1/subset=0/seed=0"


def test_config_hash_ignores_switched_off_new_options():
    import dataclasses

    spec = GRIDS.get("lowdata").build("quick", None)[0]
    renamed = dataclasses.replace(spec, variant="something else")
    assert renamed.config_hash == spec.config_hash
    changed = dataclasses.replace(spec, seed=spec.seed + 1)
    assert changed.config_hash != spec.config_hash


def _write(path, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_tables_show_paper_ours_and_difference(tmp_path):
    base = {"dataset": "e2e", "model": "smollm2-135m", "status": "ok", "method": "adapter"}
    rows = [
        {**base, "scale": "quick", "variant": "adapter-0.1%", "bleu": "60.0", "nist": "7.0",
         "meteor": "not computed: java not found", "rouge_l": "65", "cider": "1.5"},
        {**base, "scale": "quick", "variant": "adapter-0.1%", "bleu": "62.0", "nist": "7.2",
         "meteor": "not computed: java not found", "rouge_l": "67", "cider": "1.7"},
        {**base, "scale": "smoke", "variant": "fine-tune", "bleu": "1.0", "nist": "0.1",
         "meteor": "0.0", "rouge_l": "1", "cider": "0.01"},
    ]  # fmt: skip
    _write(tmp_path / "table2.csv", rows)
    spec = next(t for t in TABLES if t.name == "table2_e2e")
    frame, caption = build_table(spec, tmp_path, "ACL2021")
    adapter = frame[(frame["method"] == "adapter-0.1%") & (frame["metric"] == "bleu")].iloc[0]
    assert adapter["paper"] == "66.3"  # ACL Table 2, GPT-2 medium ADAPTER(0.1%) E2E BLEU
    assert adapter["ours"] == "61.00 ± 1.41 (n=2)"
    assert adapter["ours − paper"] == "-5.30"
    meteor = frame[(frame["method"] == "adapter-0.1%") & (frame["metric"] == "meteor")].iloc[0]
    assert "not computed" in meteor["ours"]  # said, never replaced by a number
    fine_tune = frame[(frame["method"] == "fine-tune") & (frame["metric"] == "bleu")].iloc[0]
    assert fine_tune["ours"] == "not run"  # the smoke row is not used
    assert "smollm2-135m at quick scale" in caption
    dart = next(t for t in TABLES if t.name == "table2_dart")
    assert "ours: not run" in build_table(dart, tmp_path, "ACL2021")[1]  # E2E rows only

    v1, _ = build_table(spec, tmp_path, "arXiv-v1")
    assert v1[(v1["method"] == "fine-tune") & (v1["metric"] == "bleu")].iloc[0]["paper"] == "68.2"


def test_tables_command_writes_markdown_and_latex(tmp_path, capsys):
    readme = tmp_path / "README.md"
    readme.write_text("no markers here\n")
    argv = ["tables", "--results-dir", str(tmp_path), "--out", str(tmp_path / "t")]
    assert main([*argv, "--readme", str(readme)]) == 0
    assert readme.read_text() == "no markers here\n"
    for spec in TABLES:
        markdown = (tmp_path / "t" / f"{spec.name}.md").read_text()
        assert "not run" in markdown and "| method | metric | paper |" in markdown
        latex = (tmp_path / "t" / f"{spec.name}.tex").read_text()
        assert "\\toprule" in latex and "\\bottomrule" in latex


def test_readme_block_is_regenerated_from_results(tmp_path):
    from benchmark.report.tables import README_BEGIN, README_END, update_readme

    base = {"dataset": "e2e", "model": "smollm2-135m", "status": "ok", "scale": "quick"}
    metrics = {"bleu": "60.0", "nist": "7.0", "meteor": "40", "rouge_l": "65", "cider": "1.5"}
    _write(tmp_path / "table2.csv", [{**base, "method": "prefix", "variant": "prefix-0.1%",
                                      "train_size": "500", "steps": "100", "eval_size": "200",
                                      **metrics}])  # fmt: skip
    readme = tmp_path / "README.md"
    readme.write_text(f"intro\n{README_BEGIN}\nold text\n{README_END}\noutro\n")
    assert update_readme(readme, tmp_path)
    text = readme.read_text()
    assert text.startswith("intro\n") and text.endswith(f"{README_END}\noutro\n")
    assert "old text" not in text
    assert "| prefix-0.1% | 60.00 (70.3) | 7.00 (8.82) |" in text  # ACL Table 2 E2E prefix
    assert "500 training pairs, 100 steps, 200 test inputs scored" in text
    assert "| fine-tune | not run (68.8) |" in text
    assert "[table5_intrinsic](tables/table5_intrinsic.md) (`--grid intrinsic`)" in text
    update_readme(readme, tmp_path)
    assert readme.read_text() == text  # idempotent


def test_quick_full_data_recipe_is_one_pass_over_its_sample():
    table2 = GRIDS.get("table2").build("quick", None)
    assert all(s.train_size == 500 and s.eval_limit == 100 for s in table2)
    assert [(s.dataset, s.variant) for s in table2 if s.dataset != "e2e"] == [
        ("webnlg", "fine-tune"), ("webnlg", "prefix-0.1%")]  # fmt: skip
    specs = {s.variant: s for s in table2 if s.dataset == "e2e"}
    steps = {v: s.train.for_training_set(500).max_steps for v, s in specs.items()}
    assert steps["fine-tune"] == 50 and steps["prefix-0.1%"] == 50  # batch 10 (ACL Table 6)
    assert steps["adapter-3%"] == 100  # batch 5
    assert len(GRIDS.get("init").build("quick", None)) == 5  # random + 4 words
    fractions = GRIDS.get("data-efficiency").build("quick", None)
    assert {s.train_size for s in fractions} == {500}  # a 1,000-pair pool took 66 min here
    assert sorted(s.train.for_training_set(int(500 * s.train_fraction)).max_steps
                  for s in fractions if s.method == "finetune") == [5, 10, 20, 30, 40]  # fmt: skip


def test_quick_xsum_recipe_is_the_measured_one():
    # ~40 s a fine-tune step at batch 8 and ~4.5 s a beam-6 article here made the earlier quick
    # recipe ~35 min a run; the quick XSUM grids must stay inside the hour.
    for grid in ("table3", "extrapolation"):
        for spec in GRIDS.get(grid).build("quick", None):
            assert (spec.train_size, spec.eval_limit) == (100, 50), spec.run_id
            assert spec.train.batch_size == 4 and spec.train.eval_every == 10
            assert spec.train.for_training_set(100).max_steps == 20
            assert spec.train.max_source_tokens == 512  # paper §5.3 at every scale


def test_reports_use_the_newest_row_of_a_redone_run(tmp_path):
    from benchmark.report.plot import _figures

    row = {"run_id": "e2e/prefix-0.1%/n=500/subset=0/seed=0", "dataset": "e2e", "scale": "quick",
           "model": "smollm2-135m", "status": "ok", "method": "prefix", "variant": "prefix-0.1%",
           "nist": "7", "meteor": "40", "rouge_l": "65", "cider": "1.5"}  # fmt: skip
    other_seed = {**row, "run_id": row["run_id"].replace("seed=0", "seed=1"), "bleu": "62.0"}
    _write(tmp_path / "table2.csv", [{**row, "bleu": "10.0"}, {**row, "bleu": "60.0"}, other_seed])
    spec = next(t for t in TABLES if t.name == "table2_e2e")
    frame, _ = build_table(spec, tmp_path, "ACL2021")
    prefix = frame[(frame["method"] == "prefix-0.1%") & (frame["metric"] == "bleu")].iloc[0]
    assert prefix["ours"] == "61.00 ± 1.41 (n=2)"  # the redone seed-0 run counts once, newest

    lengths = [{**row, "variant": f"prefix-len-{p}", "run_id": f"e2e/prefix-len-{p}/n=500",
                "method_config": json.dumps({"prefix_len": p}), "bleu": bleu}
               for p, bleu in ((5, "1.0"), (5, "50.0"), (10, "55.0"))]  # fmt: skip
    _write(tmp_path / "prefix-length.csv", lengths)
    [(_, runs)] = _figures("prefix-length", tmp_path / "prefix-length.csv")
    assert sorted(runs["bleu"].astype(float)) == [50.0, 55.0]  # the P=5 redo replaced its old row


def test_a_redone_run_marks_its_earlier_row_superseded(tmp_path):
    from benchmark.run.store import append_row, read_rows

    path = tmp_path / "table2.csv"
    run = {"run_id": "e2e/prefix/n=500/subset=0/seed=0", "scale": "quick", "model": "m"}
    append_row(path, {**run, "config_hash": "old", "status": "ok", "bleu": 10.0})
    append_row(path, {**run, "run_id": "e2e/other", "config_hash": "x", "status": "ok"})
    append_row(path, {**run, "config_hash": "new", "status": "failed", "error": "NaN"})
    assert [r["status"] for r in read_rows(path)] == ["ok", "ok", "failed"]  # a failure is no redo
    append_row(path, {**run, "config_hash": "new", "status": "ok", "bleu": 60.0})
    rows = read_rows(path)
    assert [r["status"] for r in rows] == ["superseded", "ok", "failed", "ok"]
    assert rows[0]["bleu"] == "10.0000" and "new" in rows[0]["error"]  # its numbers are kept


def test_rows_a_changed_recipe_no_longer_has_are_marked_superseded(tmp_path, capsys):
    from benchmark.cli import main
    from benchmark.experiments import GRIDS
    from benchmark.run.store import append_row, read_rows

    specs = GRIDS.get("data-efficiency").build("smoke", None)
    path = tmp_path / "data-efficiency.csv"
    keys = {"grid": "data-efficiency", "scale": "smoke", "model": specs[0].model}
    current = {**keys, "run_id": specs[0].run_id, "config_hash": specs[0].config_hash}
    renamed = {
        **keys,
        "run_id": "e2e/fine-tune/n=1000/frac=0.1/subset=0/seed=0",
        "config_hash": "c",
    }
    append_row(path, {**current, "status": "ok", "bleu": 50.0})
    append_row(path, {**renamed, "status": "ok", "bleu": 40.0})  # a run of the earlier recipe
    append_row(path, {**renamed, "model": "another-model", "status": "ok"})  # not this model's
    append_row(path, {**renamed, "scale": "quick", "status": "ok"})  # nor this scale's
    argv = ["run", "--grid", "data-efficiency", "--scale", "smoke", "--results-dir", str(tmp_path)]

    assert main([*argv, "--dry-run"]) == 0
    assert f"[stale] smoke {specs[0].model:14s} {renamed['run_id']}" in capsys.readouterr().out
    assert [r["status"] for r in read_rows(path)] == ["ok"] * 4  # a dry run writes nothing
    assert main([*argv, "--set", "mid_dim=8", "--dry-run"]) == 0  # options changed: a variant,
    assert "[stale]" not in capsys.readouterr().out  # not the grid's recipe, so nothing is stale

    from benchmark.run.store import retire_stale_rows

    assert retire_stale_rows(path, specs) == 1
    rows = read_rows(path)
    assert [r["status"] for r in rows] == ["ok", "superseded", "ok", "ok"]
    assert rows[1]["bleu"] == "40.0000" and "no longer in the smoke recipe" in rows[1]["error"]
    assert retire_stale_rows(path, specs) == 0  # idempotent


def test_tables_mark_cells_with_non_converged_runs(tmp_path):
    from benchmark.report.tables import README_BEGIN, README_END, update_readme

    runs = tmp_path / "runs" / "adapter"
    runs.mkdir(parents=True)
    (runs / "run.json").write_text(json.dumps({"dev_losses": [[25, 2.41], [50, 2.11]]}))
    base = {"dataset": "e2e", "model": "smollm2-135m", "status": "ok", "scale": "quick"}
    metrics = {"bleu": "17.5", "nist": "2.7", "meteor": "32", "rouge_l": "48", "cider": "1.1"}
    _write(tmp_path / "table2.csv", [
        {**base, "method": "adapter", "variant": "adapter-3%", "outputs_dir": "runs/adapter",
         "converged": "", **metrics},  # an older row: its run.json says the loss still fell
        {**base, "method": "prefix", "variant": "prefix-0.1%", "outputs_dir": "runs/none",
         "converged": "True", **metrics},
    ])  # fmt: skip
    spec = next(t for t in TABLES if t.name == "table2_e2e")
    frame, caption = build_table(spec, tmp_path, "ACL2021")
    cells = dict(zip(frame["method"] + " " + frame["metric"], frame["ours"]))
    assert cells["adapter-3% bleu"] == "17.50 (n=1, 1 not converged)"
    assert cells["prefix-0.1% bleu"] == "17.50 (n=1)"
    assert "'not converged' (†): the dev loss still fell by 1% or more" in caption
    readme = tmp_path / "README.md"
    readme.write_text(f"{README_BEGIN}\n{README_END}\n")
    update_readme(readme, tmp_path)
    text = readme.read_text()
    assert "| adapter-3% | 17.50† (68.9) |" in text and "| prefix-0.1% | 17.50 (70.3) |" in text
