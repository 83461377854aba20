"""Running: the sample a run trains on is the one its spec names (subset, size), and a run redone
under a new config keeps the superseded row's outputs, so every row can be rescored from files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from benchmark.cli import main
from benchmark.data.e2e import load_e2e_pairs
from benchmark.data.sampling import sample_lowdata


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _run(e2e_dir: Path, results: Path, *extra: str) -> int:
    argv = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke"]
    argv += [
        "--set",
        "train.max_steps=2",
        "--data-dir",
        str(e2e_dir),
        "--results-dir",
        str(results),
    ]
    return main([*argv, *extra])


def test_the_run_trains_on_the_subset_it_names(e2e_dir, tmp_path):
    assert _run(e2e_dir, tmp_path, "--subset", "0,2") == 0
    rows = _rows(tmp_path / "adhoc.csv")
    assert [r["subset"] for r in rows] == ["0", "2"]
    train, dev = load_e2e_pairs(e2e_dir, "train"), load_e2e_pairs(e2e_dir, "dev")
    recorded = []
    for row in rows:
        info = json.loads((tmp_path / row["outputs_dir"] / "run.json").read_text())
        expected = sample_lowdata(train, dev, 50, int(row["subset"]))
        assert tuple(info["train_indices"]) == expected.train_indices
        assert tuple(info["dev_indices"]) == expected.dev_indices
        recorded.append(tuple(info["train_indices"]))
    assert recorded[0] != recorded[1]  # two subsets, two samples


def test_a_redone_run_keeps_the_outputs_of_the_row_it_supersedes(e2e_dir, tmp_path):
    assert _run(e2e_dir, tmp_path) == 0
    assert _run(e2e_dir, tmp_path, "--set", "decode.num_beams=1") == 0  # same run id, new config
    old, new = _rows(tmp_path / "adhoc.csv")
    assert old["run_id"] == new["run_id"] and old["config_hash"] != new["config_hash"]
    assert (old["status"], new["status"]) == ("superseded", "ok")
    assert old["outputs_dir"] != new["outputs_dir"]
    for row in (old, new):
        folder = tmp_path / row["outputs_dir"]
        info = json.loads((folder / "run.json").read_text())
        assert info["spec"]["decode"]["num_beams"] == (2 if row is old else 1)
        lines = (folder / "hypotheses.txt").read_text().splitlines()
        assert len(lines) == int(row["eval_size"])
        assert (folder / "trained.safetensors").is_file()


def test_verify_reruns_committed_runs_and_tells_a_difference(e2e_dir, tmp_path, capsys):
    committed = tmp_path / "committed"
    assert _run(e2e_dir, committed, "--subset", "0,1") == 0
    argv = ["verify", "--grid", "adhoc", "--scale", "smoke", "--results-dir", str(committed)]
    argv += ["--data-dir", str(e2e_dir)]
    capsys.readouterr()
    # `adhoc` is no grid: verify names what it can check
    assert main(argv) == 2
    assert "unknown grid 'adhoc'" in capsys.readouterr().err


def test_verify_of_a_grid(e2e_dir, tmp_path, capsys):
    committed = tmp_path / "committed"
    grid = ["--grid", "prefix-length", "--scale", "smoke", "--data-dir", str(e2e_dir)]
    assert main(["run", *grid, "--results-dir", str(committed)]) == 0
    argv = ["verify", *grid, "--results-dir", str(committed)]
    capsys.readouterr()
    assert main([*argv, "--scratch", str(tmp_path / "again")]) == 0
    assert "2/2 run(s) identical to the committed ones" in capsys.readouterr().out
    (row, _) = _rows(committed / "prefix-length.csv")
    hypotheses = committed / row["outputs_dir"] / "hypotheses.txt"
    lines = hypotheses.read_text().splitlines()
    hypotheses.write_text("\n".join(["tampered", *lines[1:]]) + "\n")
    assert main([*argv, "--scratch", str(tmp_path / "third")]) == 1
    out = capsys.readouterr().out
    assert f"[DIFFERS] {row['run_id']}: {len(lines) - 1}/{len(lines)} outputs equal" in out


def test_status_shows_running_failed_and_pending_while_a_run_holds_its_claim(tmp_path, capsys):
    import os

    from benchmark.experiments import GRIDS
    from benchmark.run.claims import claim
    from benchmark.run.store import append_row, results_path

    first, second = GRIDS.get("lowdata").build("smoke", None)
    append_row(
        results_path(tmp_path, "lowdata"),
        {"run_id": second.run_id, "config_hash": second.config_hash, "grid": "lowdata",
         "scale": "smoke", "model": second.model, "status": "failed",
         "error": "loss is nan at step 1"},
    )  # fmt: skip
    argv = ["status", "--grid", "lowdata", "--scale", "smoke", "--results-dir", str(tmp_path)]
    with claim(tmp_path, first) as held:
        assert held
        with claim(tmp_path, first) as again:
            assert not again  # one holder at a time, even in one process
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "2 runs: 1 running, 1 failed" in out
        assert f"[running] {first.model:14s} {first.run_id}" in out
        assert f":{os.getpid()}, since " in out and "heartbeat" in out
        assert "[failed]" in out and "loss is nan at step 1" in out
    assert main(argv) == 0  # released: the run is pending again
    assert "1 failed, 1 pending" in capsys.readouterr().out
