"""Bad input, table-driven: each case is one line starting "error: ", a non-zero exit, before any
model loads, and nothing already recorded changes (the results folder is byte-identical)."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import pytest

from benchmark.cli import main
from benchmark.run.store import COLUMNS

SMOKE = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke"]


def _tree(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".claims" not in p.parts and not p.name.endswith(".lock")
    }


@pytest.fixture(scope="module")
def finished(e2e_dir, tmp_path_factory) -> Path:
    """A results folder with one finished smoke prefix run (its parameters stored)."""
    results = tmp_path_factory.mktemp("finished")
    argv = [*SMOKE, "--set", "train.max_steps=2", "--data-dir", str(e2e_dir)]
    assert main([*argv, "--results-dir", str(results)]) == 0
    return results


def _damage_csv(results: Path, how: str) -> None:
    path = results / "adhoc.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    if how == "extra field":
        lines.append(lines[1].rstrip("\n") + ",surplus\n")
    elif how == "garbage line":
        lines.append("this is not a row\n")
    elif how == "no config_hash column":
        lines[0] = lines[0].replace("config_hash", "confighash")
    if how == "garbage line in a grid's CSV":
        lines.append("this is not a row\n")
        path.unlink()
        path = results / "lowdata.csv"
    path.write_text("".join(lines), encoding="utf-8")


def _damage_weights(results: Path, how: str) -> None:
    (weights,) = results.rglob("trained.safetensors")
    data = bytearray(weights.read_bytes())
    if how == "corrupt header (an older run: no checksums)":
        info_path = weights.parent / "run.json"
        info = json.loads(info_path.read_text())
        del info["sha256"]
        info_path.write_text(json.dumps(info))
        data[8:16] = b"\xff" * 8
    else:  # flipped tensor bytes: the header still parses, the numbers changed
        data[-4:] = bytes(255 - b for b in data[-4:])
    weights.write_bytes(bytes(data))


CASES = [
    # (argv after the command, a damage to apply to a copy of the finished folder, message)
    ([*SMOKE, "--set", "mid_dim=abc"], None, "method.mid_dim='abc' is not a valid int"),
    ([*SMOKE, "--set", "train.max_steps=0"], None, "train.max_steps must be >= 1"),
    ([*SMOKE, "--set", "nope=1"], None, "apply to none of the methods"),
    ([*SMOKE[:4], "0", *SMOKE[5:]], None, "--train-size must be >= 1"),
    (["run", "--grid", "lowdata", "--subset", "1"], None, "do not apply to --grid"),
    (["run", "--grid", "lowdata", "--partition", "gpu"], None, "only to --executor slurm"),
    (["run", "--grid", "lowdata", "--no-wait"], None, "--no-wait applies to"),
    (["run", "--grid", "lowdata", "--workers", "0"], None, "--workers must be >= 1"),
    (["run", "--grid", "lowdata", "--cpus-per-run", "0"], None, "--cpus-per-run must be >= 1"),
    (["run", "--grid", "lowdata", "--model", "gpt2-medum"], None, "did you mean: gpt2-medium"),
    (
        [*SMOKE, "--dry-run"],
        "extra field",
        f"adhoc.csv, line 3: {len(COLUMNS) + 1} fields where the header has {len(COLUMNS)}",
    ),
    ([*SMOKE, "--dry-run"], "garbage line", "adhoc.csv, line 3: 1 fields"),
    ([*SMOKE], "no config_hash column", "the header lacks config_hash"),
    (["status", "--grid", "lowdata"], "garbage line in a grid's CSV", "lowdata.csv, line 3"),
    (
        ["decode", "RUN"],
        "corrupt header (an older run: no checksums)",
        "not a readable safetensors",
    ),
    (["decode", "RUN"], "flipped bytes", "does not match the sha256 its run recorded"),
]


@pytest.mark.parametrize("argv, damage, message", CASES, ids=[c[2][:40] for c in CASES])
def test_bad_input_is_one_line_and_changes_nothing(
    argv, damage, message, finished, e2e_dir, tmp_path, capsys
):
    results = tmp_path / "results"
    shutil.copytree(finished, results)
    if (
        damage
        and "CSV" in damage
        or damage in ("extra field", "garbage line", "no config_hash column")
    ):
        _damage_csv(results, damage)
    elif damage:
        _damage_weights(results, damage)
    before = _tree(results)
    if argv[0] == "decode":
        (run_dir,) = {p.parent for p in results.rglob("run.json")}
        argv = ["decode", str(run_dir), "--data-dir", str(e2e_dir)]
    elif argv[0] == "status":
        argv = [*argv, "--results-dir", str(results)]
    else:
        argv = [*argv, "--results-dir", str(results), "--data-dir", str(e2e_dir)]
    capsys.readouterr()
    assert main(argv) != 0
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and len(err.splitlines()) == 1, err
    assert message in err, err
    assert _tree(results) == before  # nothing recorded was changed or lost


def test_an_unwritable_results_folder_is_refused_before_any_work(e2e_dir, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    argv = [*SMOKE, "--data-dir", str(e2e_dir), "--results-dir", str(blocker / "results")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert f"results folder {blocker / 'results'} is not writable" in err
    assert main([*argv, "--dry-run"]) == 2  # a dry run checks it too


def test_a_failed_write_leaves_no_scratch_folder(e2e_dir, tmp_path, monkeypatch, capsys):
    """A full disk while the outputs are written: one line naming the path, no `.partial`
    folder, no row."""
    import benchmark.run.execute as execute

    def full_disk(*args, **kwargs):
        raise OSError(28, "No space left on device", "hypotheses.txt")

    monkeypatch.setattr(execute, "save_file", full_disk)
    results = tmp_path / "results"
    argv = [*SMOKE, "--set", "train.max_steps=2", "--data-dir", str(e2e_dir)]
    assert main([*argv, "--results-dir", str(results)]) == 2
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and len(err.splitlines()) == 1
    assert not list(results.rglob("*.partial*"))
    assert not (results / "adhoc.csv").exists()
