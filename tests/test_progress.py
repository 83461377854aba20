"""Progress anywhere: log lines with loss in nats/token and ETA when no bar is drawn, one line per
decoded batch, a per-run log file beside the outputs, printed once; dry-run wall-time estimates
from the finished runs of a results folder."""

from __future__ import annotations

import csv
import json
import logging
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from benchmark.cli import main
from benchmark.data import Example
from benchmark.decode import decode
from benchmark.methods.prefix import PrefixConfig, PrefixTuned
from benchmark.models import load_model
from benchmark.progress import PROGRESS_LOGGER, Progress
from benchmark.run.estimate import estimate, measure, plan
from benchmark.run.store import COLUMNS
from benchmark.spec import DecodeConfig, RunSpec, TrainConfig

from .helpers import REPO, SOURCES

PAIRS = [
    Example("name : Aromi | Type : coffee shop", ("Aromi is a coffee shop near the river.",)),
    Example("name : X | food : Thai", ("X serves Thai food.",)),
] * 3
TRAIN_LINE = re.compile(
    r"train step (\d+)/(\d+)  loss (\d+\.\d{3}) nats/token  elapsed \d+s  ETA (\d+)s$"
)
SMOKE = ["run", "--method", "prefix", "--train-size", "50", "--scale", "smoke"]
SMOKE += ["--set", "train.max_steps=4"]


def progress_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == PROGRESS_LOGGER]


def test_training_without_a_bar_logs_step_loss_in_nats_per_token_and_eta(caplog, monkeypatch):
    """Prefix-tuning trains on a per-sequence sum; its log lines show the token mean of the same
    forward (recorded here by wrapping `target_losses`, which returns its values unchanged)."""
    import benchmark.train as trainer

    seen = []

    def recording(logits, batch):
        seq_sum, counts = original(logits, batch)
        if torch.is_grad_enabled():  # a training step, not a dev-loss pass
            seen.append(float(seq_sum.detach().sum()) / int(counts.sum()))
        return seq_sum, counts

    original = trainer.target_losses
    monkeypatch.setattr(trainer, "target_losses", recording)
    loaded = load_model("tiny-gpt2")
    torch.manual_seed(0)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, mid_dim=8))
    assert prefix.loss_reduction == "sequence_sum"
    config = TrainConfig(max_steps=4, batch_size=2, lr=1e-3, warmup_steps=1)
    with caplog.at_level(logging.INFO, logger=PROGRESS_LOGGER):
        result = trainer.train(prefix, loaded, PAIRS, PAIRS[:2], config, progress=False)

    matches = [TRAIN_LINE.match(line) for line in progress_lines(caplog)]
    assert all(matches), progress_lines(caplog)
    assert [(int(m[1]), int(m[2])) for m in matches] == [(1, 4), (2, 4), (3, 4), (4, 4)]
    logged = [float(m[3]) for m in matches]
    assert logged == pytest.approx(seen, abs=6e-4)  # nats per token of each step's batch...
    assert all(abs(a - b) > 0.5 for a, b in zip(logged, result.losses))  # ...not the summed loss
    assert int(matches[-1][4]) == 0  # ETA 0s at the last step


def test_a_line_every_n_updates_and_at_the_last():
    with pytest.MonkeyPatch.context() as mp:
        lines = []
        mp.setattr("benchmark.progress.log.info", lambda msg, **kw: lines.append(msg))
        meter = Progress(10, "train", "step", bar=False, every=3, every_s=float("inf"))
        for _ in range(10):
            meter.update(nll=6.0, tokens=3)
        meter.close()
    assert [line.split("  ")[0] for line in lines] == [f"train step {n}/10" for n in (3, 6, 9, 10)]
    assert all("loss 2.000 nats/token" in line for line in lines)  # 6 nats over 3 tokens


def test_decode_logs_one_line_per_batch_with_the_inputs_done(caplog):
    loaded = load_model("tiny-gpt2")
    torch.manual_seed(0)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, reparam="flat")).eval()
    prefix.finalize()
    sources = (SOURCES * 2)[:5]
    config = DecodeConfig(num_beams=1, max_new_tokens=3, batch_size=2)
    with caplog.at_level(logging.INFO, logger=PROGRESS_LOGGER):
        decode(prefix, loaded, sources, config, progress=False)
    lines = progress_lines(caplog)
    assert [line.split("  elapsed")[0] for line in lines] == [
        "decode batch 1/3 (2/5 inputs)",
        "decode batch 2/3 (4/5 inputs)",
        "decode batch 3/3 (5/5 inputs)",
    ]
    assert all(re.search(r"  ETA \d+s$", line) for line in lines)


def _run_log(results: Path) -> tuple[Path, str]:
    (log,) = results.rglob("*.log")
    assert (log.with_suffix("") / "run.json").is_file()  # beside the run's outputs folder
    return log, log.read_text(encoding="utf-8")


def test_a_run_writes_its_progress_and_messages_to_a_log_beside_its_outputs(
    e2e_dir, tmp_path, caplog
):
    results = tmp_path / "results"
    with caplog.at_level(logging.WARNING):  # as the CLI sets it: root at WARNING...
        caplog.handler.setLevel(logging.NOTSET)  # ...its stderr handler at no level of its own
        assert main([*SMOKE, "--data-dir", str(e2e_dir), "--results-dir", str(results)]) == 0
    log, text = _run_log(results)
    lines = text.splitlines()
    stamp = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d INFO "
    assert re.match(stamp + r"benchmark: started e2e/prefix/n=50/subset=0/seed=0$", lines[0])
    assert re.search(
        stamp + r"benchmark.progress: train step 4/4  loss \d+\.\d{3} nats/token", text
    )
    decoded = re.findall(r"decode batch (\d+)/(\d+) \((\d+)/(\d+) inputs\)", text)
    assert decoded and decoded[-1][0] == decoded[-1][1] and decoded[-1][2] == decoded[-1][3]
    assert [int(d[0]) for d in decoded] == list(range(1, len(decoded) + 1))
    assert re.search(stamp + r"benchmark.methods.prefix: prefix init", text)  # the run's own INFO
    # without a bar the lines also reach the root handlers (the CLI's stderr), but the run's other
    # INFO messages do not: the terminal shows what it showed before
    shown = [r for r in caplog.records if r.name.startswith("benchmark")]
    assert shown and {r.name for r in shown} == {PROGRESS_LOGGER}
    assert len(shown) == text.count("benchmark.progress:")


def test_with_a_bar_the_log_file_still_gets_the_lines_and_nothing_is_printed_twice(
    e2e_dir, tmp_path, caplog, monkeypatch
):
    from benchmark.run import grid

    calls = []
    real_run_one = grid.run_one

    def with_bar(spec, data_dir, results_dir, progress, how=grid.DEFAULT_EXECUTION):
        calls.append(progress)
        return real_run_one(spec, data_dir, results_dir, True, how)

    monkeypatch.setattr(grid, "run_one", with_bar)
    results = tmp_path / "results"
    with caplog.at_level(logging.INFO):
        assert main([*SMOKE, "--data-dir", str(e2e_dir), "--results-dir", str(results)]) == 0
    assert calls == [False]  # stderr is no terminal under pytest; the bar was forced above
    _, text = _run_log(results)
    assert "train step 4/4" in text and "decode batch" in text
    assert not [r for r in caplog.records if r.name == PROGRESS_LOGGER]  # the bar showed them
    assert logging.getLogger("benchmark").propagate  # the run log put everything back


SNIPPET = """
import logging, sys
{setup}
from benchmark.progress import Progress
meter = Progress(2, "train", "step", bar=False)
meter.update(nll=4.0, tokens=2)
meter.update(nll=4.0, tokens=2)
"""


@pytest.mark.parametrize(
    "setup, prefix",
    [
        ("", ""),  # logging not configured: progress.py's own handler prints them
        (
            "logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(name)s: %(message)s')",
            "INFO benchmark.progress: ",
        ),  # the CLI's set-up: its handler prints them, ours not
    ],
)
def test_lines_reach_stderr_once_when_no_bar_is_drawn(setup, prefix):
    code = SNIPPET.format(setup=setup)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    lines = out.stderr.splitlines()
    assert [line.split("  ")[0] for line in lines] == [
        f"{prefix}train step 1/2",
        f"{prefix}train step 2/2",
    ], out.stderr


# ---- estimates ------------------------------------------------------------------------------


def _row(**fields) -> dict:
    base = {
        "run_id": "e2e/prefix/n=100/subset=0/seed=0",
        "config_hash": "0123456789",
        "grid": "lowdata",
        "scale": "quick",
        "dataset": "e2e",
        "eval_split": "test",
        "eval_size": 100,
        "method": "prefix",
        "model": "smollm2-135m",
        "train_size": 100,
        "status": "ok",
        "steps": 50,
        "train_seconds": 100.0,  # 2 s a step of batch 10: 0.2 s an example
        "decode_seconds": 60.0,  # 0.6 s an input at 5 beams: 0.12 s an input and beam
        "train_config": json.dumps({"batch_size": 10, "max_steps": 50}),
        "decode_config": json.dumps({"num_beams": 5}),
    }
    return {**base, **fields}


ROWS = [
    _row(),
    _row(  # fine-tuning, superseded (still measured): 0.4 s an example, 0.3 s an input and beam
        method="finetune",
        status="superseded",
        train_seconds=200.0,
        decode_seconds=30.0,
        decode_config=json.dumps({"num_beams": 1}),
    ),
    _row(method="adapter", status="failed", train_seconds=1e6, steps=1),  # not finished: ignored
]


def _results(tmp_path: Path, rows: list[dict], name: str = "lowdata.csv") -> Path:
    results = tmp_path / "results"
    results.mkdir(exist_ok=True)
    with open(results / name, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return results


def _spec(**fields) -> RunSpec:
    base = dict(
        grid="g",
        scale="quick",
        dataset="e2e",
        method="prefix",
        model="smollm2-135m",
        train_size=100,
        subset=0,
        seed=0,
        train=TrainConfig(max_steps=20, batch_size=5),
        decode=DecodeConfig(num_beams=1),
        eval_limit=40,
    )
    return RunSpec(**{**base, **fields})


@pytest.mark.parametrize(
    "spec, seconds",
    [
        # 20 s load + 20 steps x 5 examples x 0.2 s + 40 inputs x 1 beam x 0.12 s
        (_spec(), 20 + 20 * 5 * 0.2 + 40 * 0.12),
        # batch 20, 3 beams: both rates scale
        (
            _spec(train=TrainConfig(max_steps=20, batch_size=20), decode=DecodeConfig(num_beams=3)),
            20 + 20 * 20 * 0.2 + 40 * 3 * 0.12,
        ),
        # no prefix run on webnlg: the same model and method (prefix on e2e)
        (_spec(dataset="webnlg"), 20 + 20 * 5 * 0.2 + 40 * 0.12),
        # no adapter run finished: the model's runs, median of 0.2/0.4 and 0.12/0.3
        (_spec(method="adapter"), 20 + 20 * 5 * 0.3 + 40 * 0.21),
        # epochs over the full split (paper.TRAIN_PAIRS e2e = 42,061): 2 x ceil(42061 / 10)
        # steps; every test input (the largest eval_size recorded for e2e test: 100)
        (
            _spec(train_size=0, train=TrainConfig(epochs=2, batch_size=10), eval_limit=None),
            20 + 2 * 4207 * 10 * 0.2 + 100 * 0.12,
        ),
        # a fraction of a sample: round(0.5 x 100) = 50 pairs, 1 epoch of batch 10 = 5 steps
        (
            _spec(train_fraction=0.5, train=TrainConfig(epochs=1, batch_size=10)),
            20 + 5 * 10 * 0.2 + 40 * 0.12,
        ),
    ],
)
def test_estimates_from_hand_written_rows(tmp_path, spec, seconds):
    measured = measure(_results(tmp_path, ROWS))
    assert len(measured) == 2  # ok and superseded; the failed row is not measured
    found = estimate(spec, measured)
    assert found is not None and found.seconds == pytest.approx(seconds)


def test_no_estimate_without_a_finished_run_of_the_model(tmp_path):
    results = _results(tmp_path, ROWS)
    todo = [_spec(model="tiny-gpt2"), _spec(model="tiny-gpt2", seed=1), _spec()]
    assert estimate(todo[0], measure(results)) is None
    timing = plan(todo, results)
    assert [timing.suffix(s) for s in todo] == ["", "", " ~45s"]  # 20 + 20 + 4.8 s
    assert timing.summary() == [
        "estimated wall time for 1 of the 3 runs to do: 45s at the training and decoding rates "
        "of 1 finished run in results/ (rates of the machine that ran them; scoring not counted)",
        "no estimate: no finished run of tiny-gpt2 to measure from (2 runs)",
    ]


def test_dry_run_lists_an_estimate_per_run_and_for_the_grid(e2e_dir, tmp_path, capsys):
    row = _row(model="tiny-gpt2", run_id="e2e/prefix/n=50/subset=0/seed=9", train_seconds=6.0)
    results = _results(tmp_path, [row], name="adhoc.csv")
    argv = [*SMOKE, "--dry-run", "--data-dir", str(e2e_dir), "--results-dir", str(results)]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert re.search(r"\[pending\] .* \(\w{10}\) ~\d+s$", out[1]), out
    assert re.match(
        r"estimated wall time for the 1 run to do: \d+s at the training and decoding rates "
        r"of 1 finished run in results/ \(rates of the machine that ran them; scoring not counted\)$",
        out[-1],
    ), out
