"""`python -m benchmark speed`: how fast our trainer and decoder are, against anchors, in one
process.

Cases (one row each):

* a training step of every registered method on the same batches of real E2E training pairs,
  against the anchor the method module declares (`MethodSpec.anchor`: PEFT where PEFT has the
  method, else the plain transformers loop with `labels=`); both use fused AdamW, so the rows
  compare the forward/backward, and gradient clipping as in training;
* beam-5 decoding of E2E test inputs with a prefix, against our decoding without one and
  against transformers' `generate` without one. Every case generates the same number of tokens
  (the minimum one below the maximum), so output lengths do not enter the ratio.

Method: cases are interleaved (ours, anchor, ours, anchor, ...) on the same inputs so machine
drift cancels; the first round is warm-up and is not counted; a row reports the median of the
counted rounds. `matmul_peak_fraction` is the case's matrix-multiply FLOPs (counted once with
torch's FlopCounterMode) per second over this machine's measured matmul peak.

`--threads` instead times one run using every core against two runs sharing them (below).
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from benchmark.data.e2e import load_e2e, load_e2e_pairs
from benchmark.decode import decode
from benchmark.layout import encode_pair, encode_prompt, left_pad, train_batch
from benchmark.lm import autocast, keep_freed_memory, resolve_device, set_allocator
from benchmark.methods import METHODS
from benchmark.models import LoadedModel, load_model
from benchmark.spec import DecodeConfig, TrainConfig
from benchmark.train import adamw, reduce_loss, target_losses

log = logging.getLogger(__name__)

COLUMNS = [
    "case", "ours_s", "anchor", "anchor_s", "ratio", "target_ratio", "tokens_per_s",
    "matmul_peak_fraction", "precision", "device", "threads", "rounds", "model", "torch",
    "transformers", "cpu", "allocator",
]  # fmt: skip

# the targets (this repository's speed issue): a prefix step at most half of PEFT's,
# every other method at most 0.7 of its anchor; decoding with a prefix within 5% of decoding
# without one, and at most half of `generate`
PREFIX_TARGET, METHOD_TARGET = 0.5, 0.7
PREFIX_DECODE_TARGET, GENERATE_TARGET = 1.05, 0.5


@dataclass(frozen=True)
class Settings:
    batch_size: int = 10  # the low-data recipe's batch (paper Table 8: 5-10)
    batches: int = 4
    rounds: int = 4  # counted rounds per case (plus one warm-up)
    decode_inputs: int = 20
    new_tokens: int = 40
    num_beams: int = 5
    precision: str = "fp32"  # ours and the anchors alike


FULL = Settings()
QUICK = Settings(batches=2, rounds=1, decode_inputs=10, new_tokens=20)


def matmul_peak(
    device: torch.device, size: int = 2048, repeats: int = 5, precision: str = "fp32"
) -> float:
    """FLOP/s of a large matrix multiply in `precision` on this device (the best of `repeats`)."""
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    best = float("inf")
    for _ in range(repeats + 1):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def _flops(fn: Callable[[], object]) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter:
        fn()
    return counter.get_total_flops()


def interleaved(fns: list[Callable[[], object]], rounds: int, device) -> list[float]:
    """Median seconds of each of `fns`, run in turn `rounds` times after one warm-up round."""
    times: list[list[float]] = [[] for _ in fns]
    for round_ in range(rounds + 1):
        for i, fn in enumerate(fns):
            _sync(device)
            start = time.perf_counter()
            fn()
            _sync(device)
            if round_ > 0:
                times[i].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times]


def _batches(loaded: LoadedModel, data_dir: Path, settings: Settings, device):
    pairs = load_e2e_pairs(data_dir, "train")[: settings.batch_size * settings.batches]
    limits = TrainConfig().max_source_tokens, TrainConfig().max_target_tokens
    encoded = [encode_pair(loaded, p.source, p.references[0], *limits) for p in pairs]
    size = settings.batch_size
    batches = [
        train_batch(encoded[i : i + size], loaded.pad_id) for i in range(0, len(encoded), size)
    ]
    return [b.to(device) for b in batches]


def train_cases(
    model: str,
    data_dir: Path,
    settings: Settings,
    device: torch.device,
    peak: float,
    emit,
    methods: list[str] | None = None,
) -> None:
    """One row per registered method (or per one of `methods`): our step against its anchor's."""
    for name in METHODS.names() if methods is None else methods:
        ours_s, anchor_name, anchor_s, tokens, flops = _train_case(
            name, model, data_dir, settings, device
        )
        target = PREFIX_TARGET if name == "prefix" else METHOD_TARGET
        emit(
            f"train step: {name}", ours_s, anchor_name, anchor_s, target, tokens / ours_s,
            flops / ours_s / peak,
        )  # fmt: skip
        gc.collect()


def _train_case(name: str, model: str, data_dir: Path, settings: Settings, device):
    ours_step, anchor_step, anchor_name, batches = _train_steps(
        name, model, data_dir, settings, device
    )
    ours_s, anchor_s = interleaved([ours_step, anchor_step], settings.rounds, device)
    flops = _flops(ours_step)
    tokens = statistics.mean(float(b.lengths.sum()) for b in batches)
    return ours_s, anchor_name, anchor_s, tokens, flops


def _train_steps(name: str, model: str, data_dir: Path, settings: Settings, device):
    """(ours_step, anchor_step, the anchor's name, the batches): a training step of the method and
    of its anchor, each taking the next of the same batches at every call."""
    spec = METHODS.get(name)
    loaded = load_model(model)
    config = spec.make_config({})
    torch.manual_seed(0)
    adapted = spec.build(loaded, config)
    loaded.model.to(device)
    adapted.to(device)
    anchor = spec.make_anchor(loaded, config, adapted)
    anchor.model.to(device)
    batches = _batches(loaded, data_dir, settings, device)
    ours_opt = adamw(adapted.trainable_parameters(), TrainConfig())
    theirs_opt = adamw(anchor.params, TrainConfig())
    turn = {"ours": 0, "anchor": 0}

    def ours_step() -> None:
        batch = batches[turn["ours"] % len(batches)]
        turn["ours"] += 1
        with autocast(settings.precision, device.type):
            logits = adapted.target_logits(batch)
        seq_sum, counts = target_losses(logits, batch)
        loss = reduce_loss(seq_sum, counts, adapted.loss_reduction)
        _update(loss, adapted.trainable_parameters(), ours_opt)

    def anchor_step() -> None:
        batch = batches[turn["anchor"] % len(batches)]
        turn["anchor"] += 1
        with autocast(settings.precision, device.type):
            out = anchor.model(input_ids=batch.ids, attention_mask=batch.mask, labels=batch.labels)
        _update(out.loss, anchor.params, theirs_opt)

    adapted.train()
    anchor.model.train()
    return ours_step, anchor_step, anchor.name, batches


def _update(loss: torch.Tensor, params, optimiser) -> None:
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(params, 1.0)
    optimiser.step()


def decode_cases(
    model: str, data_dir: Path, settings: Settings, device: torch.device, peak: float, emit
) -> None:
    """Beam search with a prefix, against ours without one and against `generate`."""
    sources = [ex.source for ex in load_e2e(data_dir, "test")[: settings.decode_inputs]]
    loaded = load_model(model)
    torch.manual_seed(0)
    prefix = METHODS.get("prefix").build(loaded, METHODS.get("prefix").make_config({}))
    prefix.finalize()
    bare = METHODS.get("finetune").build(loaded, METHODS.get("finetune").make_config({}))
    reference = load_model(model)  # transformers' own attention, untouched by ours
    for m in (prefix, bare, reference.model):
        m.to(device).eval()
    config = DecodeConfig(
        num_beams=settings.num_beams,
        max_new_tokens=settings.new_tokens,
        min_new_tokens=settings.new_tokens - 1,  # every case generates 39 or 40 (of 40)
        batch_size=len(sources),
        precision=settings.precision,
    )
    ids, mask = left_pad([encode_prompt(loaded, s) for s in sources], loaded.pad_id)
    ids, mask = ids.to(device), mask.to(device)

    def with_prefix() -> None:
        decode(prefix, loaded, sources, config, progress=False)

    def without_prefix() -> None:
        decode(bare, loaded, sources, config, progress=False)

    @torch.no_grad()
    def generate() -> None:
        with autocast(settings.precision, device.type):
            _generate()

    def _generate() -> None:
        reference.model.generate(
            input_ids=ids,
            attention_mask=mask,
            num_beams=settings.num_beams,
            max_new_tokens=settings.new_tokens,
            min_new_tokens=settings.new_tokens - 1,
            do_sample=False,
            length_penalty=1.0,
            pad_token_id=loaded.pad_id,
            eos_token_id=loaded.eos_id,
        )

    ours_s, bare_s, generate_s = interleaved(
        [with_prefix, without_prefix, generate], settings.rounds, device
    )
    with torch.no_grad():
        flops = _flops(with_prefix)
    tokens = len(sources) * settings.new_tokens / ours_s
    label = f"decode: beam {settings.num_beams}, {len(sources)} inputs x {settings.new_tokens} tokens, prefix"
    emit(
        label,
        ours_s,
        "ours without a prefix",
        bare_s,
        PREFIX_DECODE_TARGET,
        tokens,
        flops / ours_s / peak,
    )
    emit(
        label,
        ours_s,
        "generate without a prefix",
        generate_s,
        GENERATE_TARGET,
        tokens,
        flops / ours_s / peak,
    )


def run_speed(
    model: str,
    data_dir: Path,
    device_name: str,
    quick: bool,
    out: Path | None,
    precision: str = "fp32",
    only: tuple[str, ...] = (),
) -> list[dict]:
    """Measure every case (`only`: those methods and/or "decode"); return the rows (and write
    them to `out` as CSV)."""
    import dataclasses

    device = resolve_device(device_name)
    # as `run` does: ours and the anchors alike, in this one process
    allocator = "kept freed memory" if keep_freed_memory() else "C library default"
    settings = dataclasses.replace(QUICK if quick else FULL, precision=precision)
    peak = matmul_peak(device, precision=precision)
    rows: list[dict] = []

    def emit(case, ours_s, anchor, anchor_s, target, tokens_per_s, peak_fraction) -> None:
        row = {
            "case": case,
            "ours_s": round(ours_s, 3),
            "anchor": anchor,
            "anchor_s": round(anchor_s, 3),
            "ratio": round(ours_s / anchor_s, 3),
            "target_ratio": target,
            "tokens_per_s": round(tokens_per_s, 1),
            "matmul_peak_fraction": round(peak_fraction, 3),
            "precision": settings.precision,
            "device": str(device) if device.type == "cpu" else torch.cuda.get_device_name(device),
            "threads": torch.get_num_threads(),
            "rounds": settings.rounds,
            "model": model,
            **_versions(),
            "allocator": allocator,
        }
        rows.append(row)
        verdict = "meets" if row["ratio"] <= target else "MISSES"
        print(
            f"{case:55s} ours {ours_s:7.3f}s  {anchor} {anchor_s:7.3f}s  ratio {row['ratio']:.3f} "
            f"({verdict} <= {target})",
            flush=True,
        )

    print(
        f"matmul peak here: {peak / 1e9:.0f} GFLOP/s ({device}, {torch.get_num_threads()} threads); "
        f"allocator: {allocator}"
    )
    methods = [n for n in METHODS.names() if not only or n in only]
    train_cases(model, data_dir, settings, device, peak, emit, methods)
    if not only or "decode" in only:
        decode_cases(model, data_dir, settings, device, peak, emit)
    if out is not None:
        write_rows(out, rows)
    return rows


def _versions() -> dict[str, str]:
    import transformers

    cpu = platform.processor() or platform.machine()
    capability = torch.backends.cpu.get_cpu_capability()
    return {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "cpu": f"{cpu} ({capability})",
    }


def write_rows(out: Path, rows: list[dict]) -> None:
    import csv

    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)


# ---- threads: one run with every core, or one run per half of them ---------------------------
# `python -m benchmark speed --threads`: is this machine better used by one run with every core or
# by one run per core? The answer sets `run --workers` (and Slurm's `--cpus-per-run`).
#
# Two worker processes each load the model, build a method and the same training batches. Then, in
# alternating phases so machine drift cancels:
#
# * solo: worker 0 alone takes `steps` training steps with all `cores` threads (worker 1 waits);
# * shared: both workers take `steps` steps at once, `cores // 2` threads each.
#
# A phase's time is the wall time from a common barrier to the last worker's last step. The row's
# `ours_s` is the shared layout's seconds per step per run-equivalent (wall / (2 x steps)), its
# anchor the solo layout's (wall / steps): a ratio below 1 means two workers finish a grid sooner.
# The first round of each phase is warm-up; rows report the median of the rest.

PHASES = ("solo", "shared")


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # macOS
        return os.cpu_count() or 1


def _thread_worker(rank, method, model, data_dir, steps, rounds, cores, barrier, out) -> None:
    keep_freed_memory()  # as a run's worker process
    torch.manual_seed(0)
    loaded = load_model(model)
    spec = METHODS.get(method)
    adapted = spec.build(loaded, spec.make_config({}))
    adapted.train()
    batches = _batches(loaded, Path(data_dir), FULL, torch.device("cpu"))
    optimiser = adamw(adapted.trainable_parameters(), TrainConfig())

    def step(i: int) -> None:
        batch = batches[i % len(batches)]
        logits = adapted.target_logits(batch)
        seq_sum, counts = target_losses(logits, batch)
        loss = reduce_loss(seq_sum, counts, adapted.loss_reduction)
        _update(loss, adapted.trainable_parameters(), optimiser)

    for round_ in range(rounds + 1):
        for phase in PHASES:
            active = phase == "shared" or rank == 0
            torch.set_num_threads(max(1, cores // 2) if phase == "shared" else cores)
            barrier.wait()  # every worker loaded and the previous phase over
            start = time.perf_counter()
            if active:
                for i in range(steps):
                    step(i)
            out.put((round_, phase, rank, time.perf_counter() - start if active else 0.0))
            barrier.wait()


def thread_cases(model: str, data_dir: Path, methods, steps: int, rounds: int) -> list[dict]:
    """One row per method: the shared layout (2 runs x cores/2 threads) against solo (1 x cores)."""
    cores = _cores()
    if cores < 2:
        return []
    context = multiprocessing.get_context("spawn")
    rows = []
    for method in methods:
        barrier = context.Barrier(2)
        out = context.Queue()
        procs = [
            context.Process(
                target=_thread_worker,
                args=(rank, method, model, str(data_dir), steps, rounds, cores, barrier, out),
            )
            for rank in range(2)
        ]
        for p in procs:
            p.start()
        results = [out.get() for _ in range(2 * len(PHASES) * (rounds + 1))]
        for p in procs:
            p.join()
            if p.exitcode != 0:
                raise RuntimeError(f"speed --threads: a worker for {method} exited {p.exitcode}")
        wall = {phase: [] for phase in PHASES}
        for round_ in range(1, rounds + 1):
            for phase in PHASES:
                wall[phase].append(max(t for r, ph, _, t in results if r == round_ and ph == phase))
        shared = statistics.median(wall["shared"]) / (2 * steps)
        solo = statistics.median(wall["solo"]) / steps
        rows.append(
            {
                "case": f"train step: {method}, 2 runs x {cores // 2} thread(s)",
                "ours_s": round(shared, 3),
                "anchor": f"1 run x {cores} threads",
                "anchor_s": round(solo, 3),
                "ratio": round(shared / solo, 3),
                "precision": "fp32",
                "device": "cpu",
                "threads": cores // 2,
                "rounds": rounds,
                "model": model,
                **_versions(),
            }
        )
        print(
            f"{method}: 2 runs x {cores // 2} thread(s) {shared:.3f} s/step per run-equivalent, "
            f"1 run x {cores} threads {solo:.3f} s/step: ratio {shared / solo:.3f}",
            flush=True,
        )
    return rows


# ---- the allocator: glibc's starting thresholds against freed memory kept ---------------------
# `python -m benchmark speed --allocator`: what `lm.keep_freed_memory` does to a training step, ours
# and the anchor's. Each method gets a fresh process (a heap grown by another method would serve
# its blocks whatever the setting); in it both settings alternate so machine drift cancels: each
# round switches the setting, takes one settling step that is not counted (the heap grows into the
# new setting), then times a step on each batch; round 0 is warm-up. A row's `ours_s` is the median
# step with memory kept, its anchor the same step with glibc's starting thresholds.


def allocator_cases(model: str, data_dir: Path, methods, settings: Settings) -> list[dict]:
    """Two rows per method (our step, its anchor's): seconds a step with memory kept against
    glibc's starting thresholds; empty off glibc. Each method runs in a fresh process: what the
    heap holds after another method decides where the next one's blocks come from."""
    if not set_allocator(kept=True):
        return []
    context = multiprocessing.get_context("spawn")
    rows: list[dict] = []
    for method in methods:
        out = context.Queue()
        proc = context.Process(
            target=_allocator_worker, args=(method, model, str(data_dir), settings, out)
        )
        proc.start()
        rows += out.get()
        proc.join()
        if proc.exitcode != 0:
            raise RuntimeError(
                f"speed --allocator: the process for {method} exited {proc.exitcode}"
            )
    return rows


def _allocator_worker(method: str, model: str, data_dir: str, settings: Settings, out) -> None:
    out.put(_allocator_rows(method, model, Path(data_dir), settings))


def _allocator_rows(method: str, model: str, data_dir: Path, settings: Settings) -> list[dict]:
    import resource  # POSIX only, like glibc

    ours_step, anchor_step, anchor_name, batches = _train_steps(
        method, model, data_dir, settings, torch.device("cpu")
    )
    rows = []
    for who, step in ((f"ours ({method})", ours_step), (anchor_name, anchor_step)):
        seconds: dict[bool, list[float]] = {True: [], False: []}
        faults: dict[bool, list[int]] = {True: [], False: []}
        for round_ in range(settings.rounds + 1):
            for kept in (True, False):
                set_allocator(kept)
                step()  # settling
                for _ in batches:
                    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                    start = time.perf_counter()
                    step()
                    if round_ > 0:
                        seconds[kept].append(time.perf_counter() - start)
                        faults[kept].append(
                            resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
                        )
        kept_s, default_s = (statistics.median(seconds[k]) for k in (True, False))
        rows.append(
            {
                "case": f"train step: {who}, freed memory kept",
                "ours_s": round(kept_s, 3),
                "anchor": "glibc's starting thresholds",
                "anchor_s": round(default_s, 3),
                "ratio": round(kept_s / default_s, 3),
                "precision": "fp32",
                "device": "cpu",
                "threads": torch.get_num_threads(),
                "rounds": settings.rounds,
                "model": model,
                **_versions(),
                "allocator": "both",
            }
        )
        print(
            f"{who}: kept {kept_s:.3f} s a step ({statistics.median(faults[True]):.0f} page "
            f"faults), glibc's start {default_s:.3f} s ({statistics.median(faults[False]):.0f}):"
            f" ratio {kept_s / default_s:.3f}",
            flush=True,
        )
    return rows
