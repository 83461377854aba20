"""Training steps with glibc's allocator defaults against freed memory kept (`lm.keep_freed_memory`),
alternated in one process so machine drift cancels; the evidence behind the README's allocator note.

    python scripts/allocator_ab.py finetune [--anchor] [--rounds 5] [--data-dir ../shared/data]

Each round switches the setting (mallopt's mmap and trim thresholds: 1 GiB kept, 128 KiB glibc's
starting values), takes one settling step that is not counted, then times 4 steps over the speed
command's 4 batches of 10 real E2E pairs; it prints each setting's median seconds and minor page
faults a step. `--anchor` times the method's speed anchor (PEFT or the plain transformers loop)
instead of our step. glibc only (Linux).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from pathlib import Path

import torch

from benchmark.lm import KEEP_FREED_BYTES, _glibc
from benchmark.methods import METHODS
from benchmark.models import load_model
from benchmark.spec import TrainConfig
from benchmark.speed import FULL, _batches, _update
from benchmark.train import adamw, reduce_loss, target_losses

GLIBC_START = 128 * 1024  # glibc's mmap threshold before it adapts (trim threshold: twice it)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3


def allocator(kept: bool) -> None:
    libc = _glibc()
    if libc is None:
        raise SystemExit("allocator_ab: needs glibc (mallopt)")
    value = KEEP_FREED_BYTES if kept else GLIBC_START
    trim = KEEP_FREED_BYTES if kept else 2 * GLIBC_START
    if not (libc.mallopt(_M_MMAP_THRESHOLD, value) and libc.mallopt(_M_TRIM_THRESHOLD, trim)):
        raise SystemExit("allocator_ab: mallopt refused the thresholds")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("method", help="a registered method (python -m benchmark ls methods)")
    parser.add_argument("--anchor", action="store_true", help="time the method's speed anchor")
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (default 5)")
    parser.add_argument(
        "--data-dir", default=os.environ.get("BENCHMARK_DATA_DIR", "../shared/data")
    )
    args = parser.parse_args()
    spec = METHODS.get(args.method)
    loaded = load_model("smollm2-135m")
    batches = _batches(loaded, Path(args.data_dir), FULL, torch.device("cpu"))
    torch.manual_seed(0)
    config = spec.make_config({})
    adapted = spec.build(loaded, config)
    if args.anchor:
        anchor = spec.make_anchor(loaded, config, adapted)
        anchor.model.train()
        params, name = anchor.params, anchor.name
    else:
        adapted.train()
        params, name = adapted.trainable_parameters(), f"ours ({args.method})"
    optimiser = adamw(params, TrainConfig())

    def step(i: int) -> None:
        batch = batches[i % len(batches)]
        if args.anchor:
            out = anchor.model(input_ids=batch.ids, attention_mask=batch.mask, labels=batch.labels)
            loss = out.loss
        else:
            seq_sum, counts = target_losses(adapted.target_logits(batch), batch)
            loss = reduce_loss(seq_sum, counts, adapted.loss_reduction)
        _update(loss, params, optimiser)

    seconds: dict[bool, list[float]] = {True: [], False: []}
    faults: dict[bool, list[int]] = {True: [], False: []}
    for round_ in range(args.rounds + 1):  # round 0: warm-up
        for kept in (True, False):
            allocator(kept)
            step(0)  # the heap settles into the new setting
            for i in range(len(batches)):
                before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                start = time.perf_counter()
                step(i)
                if round_ > 0:
                    seconds[kept].append(time.perf_counter() - start)
                    faults[kept].append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
    for kept in (False, True):
        print(
            f"{name}: {'kept freed memory' if kept else 'glibc defaults':17s} "
            f"median {statistics.median(seconds[kept]):.3f} s a step, "
            f"{statistics.median(faults[kept]):.0f} page faults a step "
            f"({len(seconds[kept])} steps)",
            flush=True,
        )


if __name__ == "__main__":
    main()
