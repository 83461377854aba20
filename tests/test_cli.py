"""The command line as a user runs it: the smoke grid end to end, resuming, dry runs, bad input."""

from __future__ import annotations

import csv
import math

import pytest

from benchmark.cli import main


def rows(path):
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_smoke_grid_runs_resumes_and_plots(e2e_dir, tmp_path, capsys):
    results = tmp_path / "results"
    args = ["run", "--grid", "lowdata", "--scale", "smoke", "--data-dir", str(e2e_dir)]
    assert main([*args, "--results-dir", str(results)]) == 0
    table = rows(results / "lowdata.csv")
    assert [r["method"] for r in table] == ["finetune", "prefix"]
    for r in table:
        assert r["status"] == "ok" and r["scale"] == "smoke" and r["model"] == "tiny-gpt2"
        for metric in ("bleu", "nist", "rouge_l", "cider"):
            assert math.isfinite(float(r[metric]))
        assert r["meteor"]  # a number, or a sentence saying why not; never empty
        assert int(r["eval_size"]) == 6 and r["git_sha"] and "torch" in r["versions"]
        assert r["device"] == "cpu"  # where it trained and decoded (the default)
        out = results / r["outputs_dir"]
        assert len((out / "hypotheses.txt").read_text().splitlines()) == 6
        # official e2e-metrics layout: a blank line between the references of consecutive inputs
        assert (out / "references.txt").read_text().count("\n\n") == 5
    prefix = table[1]
    assert int(prefix["stored_params"]) < int(prefix["trainable_params"])  # the MLP was ejected
    assert (results / prefix["outputs_dir"] / "trained.safetensors").is_file()

    capsys.readouterr()
    run_dir = results / prefix["outputs_dir"]
    assert main(["decode", str(run_dir), "--data-dir", str(e2e_dir)]) == 0  # no retraining
    redecoded = dict(line.split(": ", 1) for line in capsys.readouterr().out.splitlines())
    assert redecoded["same_outputs"] == "6"
    assert float(redecoded["bleu"]) == pytest.approx(float(prefix["bleu"]), abs=1e-3)

    assert main([*args, "--results-dir", str(results)]) == 0  # resume: nothing left to run
    assert "2 done, 0 to run" in capsys.readouterr().out
    assert len(rows(results / "lowdata.csv")) == 2
    assert main([*args, "--results-dir", str(results), "--dry-run"]) == 0
    assert capsys.readouterr().out.count("[done]") == 2

    figures = tmp_path / "figures"
    assert main(["plot", "--results-dir", str(results), "--out", str(figures)]) == 0
    assert (figures / "lowdata_e2e.png").stat().st_size > 10_000
    assert (figures / "lowdata_e2e.pdf").is_file()


def test_paper_grid_dry_run_lists_the_protocol(capsys, tmp_path):
    assert (
        main(
            [
                "run",
                "--grid",
                "lowdata",
                "--scale",
                "paper",
                "--dry-run",
                "--results-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    # 4 sizes x 5 subsets x 2 seeds x 2 methods (paper §6.3), for E2E and XSUM
    assert "160 runs" in out
    assert "e2e/prefix/n=500/subset=4/seed=1" in out and "xsum/prefix/n=500/subset=4/seed=1" in out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "--grid", "lowdat"], "did you mean: lowdata"),
        (["run", "--method", "prefx", "--train-size", "50"], "did you mean: prefix"),
        (["run", "--grid", "lowdata", "--model", "gpt2-medum"], "did you mean: gpt2-medium"),
        (["run", "--grid", "lowdata", "--data-dir", "/nonexistent/dir"], "/nonexistent/dir"),
        (["plot", "--results-dir", "/nonexistent/results"], "run `python -m benchmark run"),
    ],
)
def test_bad_input_gives_one_clear_line(argv, message, capsys, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_DIR", raising=False)
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1


def test_missing_data_dir_says_how_to_fix(capsys, monkeypatch):
    monkeypatch.delenv("BENCHMARK_DATA_DIR", raising=False)
    assert main(["run", "--grid", "lowdata", "--scale", "smoke"]) == 2
    assert "BENCHMARK_DATA_DIR" in capsys.readouterr().err


def test_nan_loss_fails_the_run_keeps_earlier_rows_and_exits_nonzero(
    e2e_dir, tmp_path, monkeypatch, capsys
):
    import benchmark.run.execute as runner
    from benchmark.train import TrainingDiverged

    results = tmp_path / "results"
    args = ["run", "--method", "finetune,prefix", "--train-size", "50", "--scale", "smoke"]
    args += ["--data-dir", str(e2e_dir), "--results-dir", str(results)]
    real_train = runner.train

    def diverge_for_prefix(adapted, *a, **k):
        if type(adapted).__name__ == "PrefixTuned":
            raise TrainingDiverged("loss is nan at step 1; lower --lr or check the data")
        return real_train(adapted, *a, **k)

    monkeypatch.setattr(runner, "train", diverge_for_prefix)
    assert main(args) == 1
    table = rows(results / "adhoc.csv")
    assert [(r["method"], r["status"]) for r in table] == [("finetune", "ok"), ("prefix", "failed")]
    assert "nan" in table[1]["error"]
    monkeypatch.setattr(runner, "train", real_train)
    capsys.readouterr()
    assert main([*args, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "1 done, 0 to run, 1 failed" in out and "[failed]" in out
    assert "--retry-failed reruns them" in out
    assert main([*args, "--retry-failed"]) == 0  # the failed run is retried, the finished one not
    assert "1 done, 1 to run" in capsys.readouterr().out
    assert [r["status"] for r in rows(results / "adhoc.csv")] == ["ok", "failed", "ok"]


def test_method_options_reach_the_runs_and_unknown_ones_are_refused(capsys, tmp_path):
    from benchmark.cli.run import apply_to_runs
    from benchmark.experiments.recipes import adhoc_runs

    specs = adhoc_runs("smoke", ["finetune", "prefix"], ["e2e"], [50], [0], [0], None)
    changed = apply_to_runs(specs, [("method", "prefix_len", "7"), ("method", "init_text", "null")])
    assert changed[0].method_options == {}  # finetune has no prefix_len
    assert changed[1].method_options == {"init_text": None, "prefix_len": 7}
    assert changed[1].config_hash != specs[1].config_hash
    base = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke", "--dry-run"]
    base += ["--results-dir", str(tmp_path)]
    assert main([*base, "--set", "mid_dim=800", "--num-beams", "1"]) == 0
    assert main([*base, "--set", "bogus=1"]) == 2
    assert "apply to none of the methods" in capsys.readouterr().err


def test_the_eta_is_paced_by_trained_runs_not_by_reused_ones(monkeypatch, tmp_path, capsys):
    """A run recorded from another grid's takes seconds; the ETA of the runs left to train is the
    trained runs' pace, never the recorded ones' (a runner beside another grid said `ETA 3s`)."""
    from benchmark.experiments.recipes import adhoc_runs
    from benchmark.run import grid

    clock = [0.0]
    monkeypatch.setattr(grid.time, "perf_counter", lambda: clock[0])

    def fake_run_one(spec, *args):
        clock[0] += 1.0 if spec.seed == 0 else 100.0
        return {"status": "ok", "reused_from": "lowdata:x@y" if spec.seed == 0 else ""}

    monkeypatch.setattr(grid, "run_one", fake_run_one)
    monkeypatch.setattr(grid, "print_result", lambda spec, row: None)
    specs = adhoc_runs("smoke", ["prefix"], ["e2e"], [50], [0, 1, 2, 3], [0], None)
    outcome = grid._run_list(specs, tmp_path, tmp_path, False)
    assert outcome.finished == 4 and outcome.trained == 3
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert "ETA" not in lines[0] and "ETA" not in lines[1]  # nothing trained yet: no pace
    assert lines[2].endswith("ETA 3m20s") and lines[3].endswith("ETA 1m40s")

    # the same for worker processes' reports (local executor with --workers N)
    from benchmark.run import executors

    monkeypatch.setattr(executors.time, "perf_counter", lambda: clock[0])
    monkeypatch.setattr(executors, "print_result", lambda spec, row: None)
    report = executors.RunReport(specs, started=0.0)  # its default clock was bound at import
    clock[0] = 1.0
    report.finished(specs[0], {"status": "ok", "reused_from": "lowdata:x@y"})
    clock[0] = 101.0
    report.finished(specs[1], {"status": "ok", "reused_from": ""})
    said = capsys.readouterr().out.splitlines()
    assert "ETA" not in said[0] and said[1].endswith("ETA 3m22s")  # 101 s a trained run, 2 left


def test_a_recipe_another_grid_finished_is_reused_not_trained_again(e2e_dir, tmp_path, capsys):
    """An ad-hoc run with the low-data grid's recipe is recorded from the grid's run (its numbers
    and outputs, `reused_from` naming it); `--no-reuse` trains it; a different recipe never
    matches."""
    results = tmp_path / "results"
    data = ["--data-dir", str(e2e_dir), "--results-dir", str(results)]
    assert main(["run", "--grid", "lowdata", "--scale", "smoke", *data]) == 0
    (results / "speed.csv").write_text("case,ours_s\ntrain step,1.0\n")  # not a grid's: passed over
    grid = {r["method"]: r for r in rows(results / "lowdata.csv")}
    adhoc = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke", *data]
    capsys.readouterr()
    assert main([*adhoc, "--dry-run"]) == 0  # the plan says so before anything runs
    said = capsys.readouterr().out
    assert f"reuses lowdata:{grid['prefix']['run_id']}" in said and "recorded from it" in said
    assert main([*adhoc, "--dry-run", "--no-reuse"]) == 0
    assert "reuses" not in capsys.readouterr().out
    # a runner records the runs it can reuse before it trains any (seed 1 has no donor)
    from benchmark.experiments.recipes import adhoc_runs
    from benchmark.run.grid import select

    specs = adhoc_runs("smoke", ["prefix"], ["e2e"], [50], [1, 0], [0], None)
    assert [s.seed for s in select(specs, results)] == [0, 1]
    assert [s.seed for s in select(specs, results, reuse=False)] == [1, 0]
    assert main(adhoc) == 0
    assert "not trained again" in capsys.readouterr().out
    (row,) = rows(results / "adhoc.csv")
    donor = grid["prefix"]
    assert row["reused_from"] == f"lowdata:{donor['run_id']}@{donor['config_hash']}"
    assert row["grid"] == "adhoc" and row["config_hash"] != donor["config_hash"]
    for cell in ("bleu", "rouge_l", "outputs_dir", "train_seconds", "git_sha", "steps"):
        assert row[cell] == donor[cell]
    # another seed is another recipe: trained
    assert main([*adhoc, "--seed", "1"]) == 0
    assert rows(results / "adhoc.csv")[-1]["reused_from"] == ""
    assert main([*adhoc, "--set", "train.max_steps=3"]) == 0  # an override changes the recipe
    assert rows(results / "adhoc.csv")[-1]["reused_from"] == ""
    fresh = tmp_path / "fresh"
    assert main(["run", "--grid", "lowdata", "--scale", "smoke", "--data-dir", str(e2e_dir),
                 "--results-dir", str(fresh)]) == 0  # fmt: skip
    forced = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke",
              "--data-dir", str(e2e_dir), "--results-dir", str(fresh), "--no-reuse"]  # fmt: skip
    assert main(forced) == 0
    (trained,) = rows(fresh / "adhoc.csv")
    assert trained["reused_from"] == "" and trained["outputs_dir"].startswith("runs/adhoc/")
