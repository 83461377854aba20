"""The speed command's plumbing and refusals, the precision option and the protocol scale.

Nothing here times anything or compares seconds: `python -m benchmark speed` measures; these
tests check that it runs every case, writes every column, and refuses bad input before any model
loads.
"""

from __future__ import annotations

import csv
import platform

import pytest
import torch

from benchmark import lm, paper
from benchmark.cli import main
from benchmark.experiments import GRIDS

from .helpers import data_root, need_data


def test_speed_refuses_a_missing_gpu_and_unsupported_bf16_before_loading(capsys, monkeypatch):
    data = data_root()
    need_data((data / "e2e" / "trainset.csv").is_file(), "no E2E data")
    if not torch.cuda.is_available():
        assert main(["speed", "--device", "cuda", "--data-dir", str(data)]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no CUDA GPU" in err[0]
    monkeypatch.setattr(lm, "_cpu_flags", lambda: {"avx2"})
    assert main(["speed", "--precision", "bf16", "--data-dir", str(data)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "neither AVX512-BF16 nor AMX-BF16" in err[0]


def test_run_device_cuda_without_a_gpu_is_one_line_before_any_work(capsys, tmp_path):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal cannot happen here")
    argv = ["run", "--grid", "lowdata", "--scale", "smoke", "--results-dir", str(tmp_path)]
    assert main([*argv, "--device", "cuda"]) == 2
    said = capsys.readouterr()
    err = said.err.strip().splitlines()
    assert len(err) == 1 and "--device cuda: this torch sees no CUDA GPU" in err[0]
    assert "[1/" not in said.out and not any(tmp_path.iterdir())  # no run began
    # --gpus-per-run means cuda unless --device says otherwise; Slurm's nodes are not checked here
    assert main([*argv, "--gpus-per-run", "1", "--dry-run"]) == 2
    assert "only to --executor slurm" in capsys.readouterr().err
    assert lm.resolve_device("auto").type == "cpu"
    with pytest.raises(Exception, match="must be one of cpu, cuda, auto"):
        lm.resolve_device("tpu")


def test_speed_threads_compares_two_workers_with_one_on_a_tiny_model(tmp_path, capsys):
    """`speed --threads`: one row per method, the two layouts' seconds and their ratio (whatever
    this machine gives: nothing is compared); refused with --device or --precision."""
    from benchmark import speed

    data = data_root()
    need_data((data / "e2e" / "trainset.csv").is_file(), "no E2E data")
    assert main(["speed", "--threads", "--device", "auto", "--data-dir", str(data)]) == 2
    assert "--threads measures CPU threads in fp32" in capsys.readouterr().err
    if speed._cores() < 2:
        assert speed.thread_cases("tiny-gpt2", data, ("prefix",), 1, 1) == []
        return
    rows = speed.thread_cases("tiny-gpt2", data, ("finetune", "prefix"), steps=1, rounds=1)
    assert [r["case"].split(",")[0] for r in rows] == ["train step: finetune", "train step: prefix"]
    for r in rows:
        assert r["ours_s"] > 0 and r["anchor_s"] > 0
        # the seconds are rounded to 3 decimals, the ratio from the unrounded ones
        low = (r["ours_s"] - 5e-4) / (r["anchor_s"] + 5e-4)
        high = (r["ours_s"] + 5e-4) / (r["anchor_s"] - 5e-4)
        assert low - 5e-4 <= r["ratio"] <= high + 5e-4
        assert r["anchor"] == f"1 run x {speed._cores()} threads"


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_speed_allocator_times_ours_and_the_anchor_both_ways_on_a_tiny_model(capsys):
    """`speed --allocator`: two rows per method (our step, its anchor's), the step with freed memory
    kept against glibc's starting thresholds and their ratio (whatever this machine gives: nothing
    is compared); refused with --threads, --device, or 'decode' in --only."""
    from benchmark import speed

    data = data_root()
    need_data((data / "e2e" / "trainset.csv").is_file(), "no E2E data")
    for extra in (["--threads"], ["--device", "auto"], ["--only", "decode"]):
        assert main(["speed", "--allocator", *extra, "--data-dir", str(data)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    settings = speed.Settings(batch_size=2, batches=2, rounds=1)
    rows = speed.allocator_cases("tiny-llama", data, ("prefix",), settings)
    assert [r["case"] for r in rows] == [
        "train step: ours (prefix), freed memory kept",
        "train step: PEFT PrefixTuning (P=5, projection 512), freed memory kept",
    ]
    for r in rows:
        assert r["ours_s"] > 0 and r["anchor_s"] > 0
        assert r["anchor"] == "glibc's starting thresholds" and r["allocator"] == "both"
        low = (r["ours_s"] - 5e-4) / (r["anchor_s"] + 5e-4)
        high = (r["ours_s"] + 5e-4) / (r["anchor_s"] - 5e-4)
        assert low - 5e-4 <= r["ratio"] <= high + 5e-4
        assert set(r) <= set(speed.COLUMNS)


def test_run_refuses_bf16_where_the_cpu_has_no_native_bf16(capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(lm, "_cpu_flags", lambda: {"avx2", "fma"})
    argv = ["run", "--grid", "lowdata", "--scale", "smoke", "--precision", "bf16"]
    assert main([*argv, "--dry-run", "--results-dir", str(tmp_path)]) == 2
    assert "--precision bf16: this CPU has neither" in capsys.readouterr().err
    monkeypatch.setattr(lm, "_cpu_flags", lambda: {"avx2", "avx512_bf16"})
    assert lm.bf16_refusal("cpu") is None
    assert main([*argv, "--dry-run", "--results-dir", str(tmp_path)]) == 0


def test_bf16_training_runs_under_autocast_and_stays_close_to_fp32():
    """The trainer's bf16 path: the forward under autocast gives losses near fp32 (and not the
    same: autocast really ran), weights stay fp32."""
    from benchmark.layout import encode_pair, train_batch
    from benchmark.methods.prefix import PrefixConfig, PrefixTuned
    from benchmark.models import load_model
    from benchmark.train import target_losses

    from .helpers import LIMITS

    loaded = load_model("tiny-llama")
    torch.manual_seed(0)
    prefix = PrefixTuned(loaded, PrefixConfig(prefix_len=2, mid_dim=8)).eval()
    batch = train_batch([encode_pair(loaded, "name : X", "X is here.", *LIMITS)], loaded.pad_id)
    fp32, _ = target_losses(prefix.target_logits(batch), batch)
    with lm.autocast("bf16"):
        logits = prefix.target_logits(batch)
    bf16, _ = target_losses(logits, batch)
    assert logits.dtype == torch.bfloat16
    assert not torch.equal(bf16, fp32)
    assert torch.allclose(bf16, fp32, rtol=0.05)
    assert all(p.dtype == torch.float32 for p in prefix.trainable_parameters())


def test_protocol_scale_is_the_papers_units_on_the_low_data_grids_only(capsys, tmp_path):
    specs = GRIDS.get("lowdata").specs("protocol")
    assert len(specs) == 40  # 2 sizes x 5 subsets x 2 seeds x 2 methods
    units = {(s.train_size, s.subset, s.seed) for s in specs}
    assert len(units) == 20
    # methods innermost: every pair of consecutive runs is one unit's two methods
    for first, second in zip(specs[::2], specs[1::2]):
        assert (first.train_size, first.subset, first.seed) == (
            second.train_size,
            second.subset,
            second.seed,
        )
        assert {first.method, second.method} == {"finetune", "prefix"}
    quick = {s.run_id: s for s in GRIDS.get("lowdata").specs("quick")}
    same = [s for s in specs if s.run_id in quick]
    assert same and all(s.decode == quick[s.run_id].decode for s in same)  # quick's evaluation
    steps = {(s.method, s.train_size): s.train.max_steps for s in specs}
    assert steps == {("finetune", 50): 100, ("finetune", 100): 100, ("prefix", 50): 200,
                     ("prefix", 100): 200}  # fmt: skip  # the paper's Table 8 budget
    init = GRIDS.get("init").specs("protocol")
    labels = {paper.init_label(None), paper.init_label("table-to-text:")}
    assert {s.variant for s in init} == labels and len(init) == 20
    # the random runs come first, so a runner beside the low-data grid's reuses its prefix runs
    assert [s.variant for s in init] == [paper.init_label(None)] * 10 + [
        paper.init_label("table-to-text:")
    ] * 10

    assert main(["run", "--grid", "table2", "--scale", "protocol", "--dry-run",
                 "--results-dir", str(tmp_path)]) == 2  # fmt: skip
    assert "no scale 'protocol'" in capsys.readouterr().err


def test_speed_measures_every_method_and_the_decoders_on_a_tiny_model(tmp_path, monkeypatch):
    """Every registered method gets a row against its own anchor, and decoding two; every column
    is written (the seconds are whatever this machine gives: nothing is compared)."""
    pytest.importorskip("peft")
    from benchmark import speed
    from benchmark.methods import METHODS

    data = data_root()
    need_data((data / "e2e" / "trainset.csv").is_file(), "no E2E data")
    monkeypatch.setattr(
        speed, "QUICK", speed.Settings(batch_size=2, batches=1, rounds=1, decode_inputs=2, new_tokens=3)
    )  # fmt: skip
    out = tmp_path / "speed.csv"
    rows = speed.run_speed("tiny-llama", data, "cpu", quick=True, out=out)
    cases = [row["case"] for row in rows]
    assert cases[: len(METHODS.names())] == [f"train step: {m}" for m in METHODS.names()]
    assert len(cases) == len(METHODS.names()) + 2
    anchors = {row["case"]: row["anchor"] for row in rows}
    assert anchors["train step: prefix"].startswith("PEFT PrefixTuning")
    assert anchors["train step: lora"].startswith("PEFT LoRA")
    assert anchors["train step: embedding-only"].startswith("PEFT prompt tuning")
    assert anchors["train step: finetune"] == "transformers loop (labels=)"
    with open(out, newline="", encoding="utf-8") as f:
        written = list(csv.DictReader(f))
    assert list(written[0]) == speed.COLUMNS and len(written) == len(rows)
    assert all(float(r["ours_s"]) > 0 and float(r["anchor_s"]) > 0 for r in written)
    # --only: those cases, nothing else (the decoders only when named)
    (row,) = speed.run_speed("tiny-llama", data, "cpu", quick=True, out=None, only=("infix",))
    assert row["case"] == "train step: infix" and row["anchor"].startswith("ours, full logits")


def test_speed_only_refuses_an_unknown_case_before_loading(capsys):
    assert main(["speed", "--only", "infx", "--data-dir", str(data_root())]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown case infx" in err[0] and "known:" in err[0]
