"""Run specs: the config hash (labels and options at their declared "off" value left out, so
committed rows stay done), the typed override path (--set section.field=value) and the
committed results still being done under today's experiments."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from benchmark.errors import ConfigError
from benchmark.experiments import GRIDS
from benchmark.experiments.recipes import adhoc_runs
from benchmark.spec import (
    DecodeConfig,
    RunSpec,
    TrainConfig,
    apply_overrides,
    hashed_fields,
    off,
    parse_override,
    spec_from_dict,
)

REPO = Path(__file__).resolve().parent.parent


def _spec(**changes) -> RunSpec:
    base = RunSpec(
        "g", "smoke", "e2e", "prefix", "tiny-gpt2", 50, 0, 0, TrainConfig(), DecodeConfig()
    )
    return dataclasses.replace(base, **changes)


def test_hash_leaves_out_labels_and_options_at_their_off_value():
    spec = _spec()
    assert spec.config_hash == _spec(variant="another label").config_hash
    assert "variant" not in hashed_fields(spec)
    assert "train_fraction" not in hashed_fields(spec)
    assert "epochs" not in hashed_fields(spec)["train"]
    assert "early_stopping" not in hashed_fields(spec)["decode"]
    # an option switched on is hashed, so it is a different run
    on = _spec(decode=DecodeConfig(early_stopping=True))
    assert on.config_hash != spec.config_hash
    assert hashed_fields(on)["decode"]["early_stopping"] is True
    assert _spec(train_fraction=0.5).config_hash != spec.config_hash


def test_a_new_option_declared_off_keeps_old_hashes():
    """What an option added later must do: declared with `off(...)`, a config that leaves it off
    hashes as before it existed."""

    @dataclasses.dataclass(frozen=True)
    class Old:
        lr: float = 1e-4

    @dataclasses.dataclass(frozen=True)
    class New:
        lr: float = 1e-4
        label_smoothing: float = off(0.0)

    assert hashed_fields(Old()) == hashed_fields(New())
    assert hashed_fields(New(label_smoothing=0.1)) == {"lr": 1e-4, "label_smoothing": 0.1}


def test_spec_round_trips_through_json():
    spec = _spec(train_fraction=0.2, method_options={"prefix_len": 5, "init_text": None})
    again = spec_from_dict(json.loads(json.dumps(spec.resolved())))
    assert again == spec and again.config_hash == spec.config_hash


def test_overrides_reach_train_decode_eval_and_method_typed():
    from benchmark.methods.prefix import PrefixConfig

    items = [
        parse_override(text)
        for text in (
            "train.max_steps=10",
            "train.lr=1e-4",
            "decode.num_beams=1",
            "decode.early_stopping=true",
            "eval.limit=20",
            "method.mid_dim=800",
            "init_text=null",
        )
    ]
    spec = apply_overrides(_spec(), items, PrefixConfig)
    assert (spec.train.max_steps, spec.train.lr) == (10, 1e-4)
    assert (spec.decode.num_beams, spec.decode.early_stopping) == (1, True)
    assert spec.eval_limit == 20
    assert spec.method_options == {"mid_dim": 800, "init_text": None}
    assert spec.config_hash != _spec().config_hash


@pytest.mark.parametrize(
    "text, message",
    [
        ("max_steps", "expects SECTION.FIELD=VALUE"),
        ("trian.max_steps=3", "unknown section 'trian'"),
        ("train.max_stepz=3", "unknown train.max_stepz; known: adam_eps"),
        ("train.max_steps=abc", "train.max_steps='abc' is not a valid int"),
        ("train.max_steps=0", "train.max_steps must be >= 1"),
        ("decode.num_beams=null", "decode.num_beams cannot be null"),
        ("decode.early_stopping=maybe", "is not a valid bool"),
        ("eval.limit=0", "eval.limit must be >= 1"),
        ("eval.size=3", "unknown eval.size; known: limit, split"),
    ],
)
def test_bad_overrides_are_one_clear_error(text, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        apply_overrides(_spec(), [parse_override(text)])


def test_cli_overrides_fail_before_anything_loads(capsys, tmp_path):
    from benchmark.cli import main

    base = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke"]
    base += ["--results-dir", str(tmp_path)]  # no data dir: an error must come before it matters
    assert main([*base, "--set", "mid_dim=abc"]) == 2
    assert "method.mid_dim='abc' is not a valid int" in capsys.readouterr().err
    assert main([*base, "--set", "train.max_steps=x"]) == 2
    assert "train.max_steps='x' is not a valid int" in capsys.readouterr().err
    assert main([*base, "--set", "prefix_len=0"]) == 2  # the method config's own check
    assert "prefix_len" in capsys.readouterr().err
    assert main([*base, "--train-size", "0"]) == 2
    assert "--train-size must be >= 1" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


def test_set_shortens_a_run_and_is_recorded_in_the_hash(capsys, tmp_path):
    from benchmark.cli import main

    base = ["run", "--grid", "lowdata", "--scale", "quick", "--dry-run"]
    base += ["--results-dir", str(tmp_path)]
    assert main(base) == 0
    plain = capsys.readouterr().out
    assert main([*base, "--set", "train.max_steps=10", "--set", "eval.limit=20"]) == 0
    shortened = capsys.readouterr().out
    hashes = [line.rsplit("(", 1)[1] for line in plain.splitlines() if "[pending]" in line]
    new = [line.rsplit("(", 1)[1] for line in shortened.splitlines() if "[pending]" in line]
    assert len(hashes) == len(new) == 4 and not set(hashes) & set(new)
    specs = adhoc_runs("quick", ["prefix"], ["e2e"], [50], [0], [0], None)
    assert specs[0].train.max_steps == 100  # half of ACL Table 8's 200 at quick scale


def _committed_rows() -> list[tuple[Path, dict[str, str]]]:
    rows = []
    for path in sorted((REPO / "results").glob("*.csv")):
        if path.name.startswith("speed"):  # `benchmark speed` timings, not runs
            continue
        with open(path, newline="", encoding="utf-8") as f:
            rows += [(path, row) for row in csv.DictReader(f)]
    return rows


def test_every_committed_finished_row_is_done_under_todays_experiments():
    """Restructuring must not turn finished runs into to-do runs: each committed `ok` row is a run
    of its grid today, with the same run id and config hash."""
    finished = [(path, row) for path, row in _committed_rows() if row["status"] == "ok"]
    assert len(finished) >= 38
    for path, row in finished:
        assert path.stem == row["grid"], (path, row["grid"])
        specs = GRIDS.get(row["grid"]).build(row["scale"], None)
        current = {(s.run_id, s.model): s.config_hash for s in specs}
        assert current.get((row["run_id"], row["model"])) == row["config_hash"], row["run_id"]


def test_every_committed_run_folder_hashes_to_its_row():
    """Each finished row's run.json holds the spec whose hash the row records, and the folder
    has the outputs a rescoring needs."""
    built = {}  # (grid, scale) -> run id -> spec
    for _, row in _committed_rows():
        if row["status"] != "ok":
            continue
        folder = REPO / "results" / row["outputs_dir"]
        spec = spec_from_dict(json.loads((folder / "run.json").read_text())["spec"])
        if row.get("reused_from"):
            # recorded from another grid's run: the folder is the donor's, named by the row, and
            # it ran this row's recipe (the spec this grid builds today, less grid and label)
            assert f"{spec.grid}:{spec.run_id}@{spec.config_hash}" == row["reused_from"]
            key = (row["grid"], row["scale"])
            if key not in built:
                built[key] = {s.run_id: s for s in GRIDS.get(row["grid"]).build(row["scale"])}
            ours = built[key]
            assert spec.recipe_hash == ours[row["run_id"]].recipe_hash, row["run_id"]
            assert ours[row["run_id"]].config_hash == row["config_hash"], row["run_id"]
        else:
            assert (spec.run_id, spec.config_hash, spec.grid) == (
                row["run_id"],
                row["config_hash"],
                row["grid"],
            )
        assert (folder / "hypotheses.txt").is_file() and (folder / "references.txt").is_file()
