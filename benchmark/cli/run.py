"""`python -m benchmark run`: a named grid, or ad-hoc runs, resumably; one CSV row per run."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from benchmark.errors import ConfigError

SET_HELP = """\
override a setting of every run, typed and checked before anything loads; repeatable.
SECTION is train, decode, eval or method (a bare FIELD=VALUE is a method option):
  --set train.max_steps=10 --set train.lr=1e-4 --set train.max_source_tokens=1024
  --set decode.num_beams=1 --set eval.limit=20 --set method.mid_dim=800 --set init_text=null
Fields: the dataclasses in benchmark/spec.py (TrainConfig, DecodeConfig) and each method's config
(benchmark/methods/<method>.py). Overrides are recorded in the row and its config hash."""


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in _csv_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    from benchmark.experiments.recipes import ALL_SCALES
    from benchmark.run.executors import EXECUTORS

    run = sub.add_parser(
        "run",
        help="run a grid (or an ad-hoc list of runs) and append rows to results/<grid>.csv",
        description="Run a named grid, or ad-hoc runs from --method/--dataset/--train-size lists. "
        "Each finished run appends one row to results/<grid>.csv and keeps its outputs under "
        "results/runs/; finished runs are skipped on re-run.",
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--grid", help="named grid (see `ls grids`), e.g. lowdata, table2")
    run.add_argument(
        "--scale",
        choices=ALL_SCALES,
        default="quick",
        help="paper: the full protocol; quick: a reduced recipe, each grid within an hour on 2 "
        "CPU cores (lowdata ~10 min); protocol (lowdata, init only): the quick recipe with the "
        "paper's 5 subsets x 2 seeds; smoke: tiny model, seconds (default: quick)",
    )
    run.add_argument("--model", help="override the scale's model (see `ls models`)")
    run.add_argument("--method", type=_csv_list, help="ad-hoc: comma-separated methods")
    run.add_argument("--dataset", type=_csv_list, help="ad-hoc: datasets (default: e2e)")
    run.add_argument("--train-size", type=_int_list, help="ad-hoc: training sizes, e.g. 50,100")
    run.add_argument("--seed", type=_int_list, help="ad-hoc: training seeds (default: 0)")
    run.add_argument("--subset", type=_int_list, help="ad-hoc: low-data subsets (default: 0)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help=SET_HELP,
    )
    run.add_argument(
        "--prefix-len",
        type=int,
        help="= --set prefix_len=N --set init_text=null (prefix/infix/embedding length, random init)",
    )
    run.add_argument("--adapter-pct", type=float, help="= --set adapter_pct=X (e.g. 3 or 0.1)")
    run.add_argument("--num-beams", type=int, help="= --set decode.num_beams=N (1 = greedy)")
    run.add_argument(
        "--precision",
        choices=("fp32", "bf16"),
        help="= --set train.precision=P --set decode.precision=P; bf16: the forward under bf16 "
        "autocast (faster where the CPU has AVX512-BF16/AMX or on a GPU; changes the numbers, "
        "recorded in the config hash); default fp32",
    )
    run.add_argument(
        "--max-source-tokens",
        type=int,
        help="= --set train.max_source_tokens=N (training and decoding; XSUM 512 as the paper "
        "§5.3, 1024 as the authors' code)",
    )
    run.add_argument("--data-dir", help="dataset root (default: $BENCHMARK_DATA_DIR)")
    run.add_argument(
        "--results-dir",
        help="where CSVs and run folders go (default: the project's results/, whatever the "
        "working directory; another folder reruns committed runs afresh)",
    )
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="list the runs and their state (done, running, failed, pending, stale); checks every "
        "option and the results folder as a real run does",
    )
    run.add_argument(
        "--retry-failed", action="store_true", help="also rerun runs whose last attempt failed"
    )
    where = run.add_argument_group("where runs execute")
    where.add_argument(
        "--executor",
        choices=EXECUTORS,
        default="local",
        help="local: this machine, one run after another (or --workers at once); "
        "submitit-local: each run a local submitit job; slurm: each run a task of one Slurm job "
        "array (default: local)",
    )
    where.add_argument(
        "--device",
        choices=("cpu", "cuda", "auto"),
        help="where each run trains and decodes; auto: cuda where torch sees a GPU (default: cpu, "
        "or cuda with --gpus-per-run); recorded in each row's `device`",
    )
    where.add_argument("--workers", type=int, default=1, help="local executors: runs at once")
    run.add_argument(
        "--no-reuse",
        action="store_true",
        help="train every run, even one whose recipe another grid of the results folder already "
        "finished (by default such a run is recorded from that one, its row naming it in "
        "`reused_from`: e.g. Figure 5's real-word runs are Figure 3's prefix runs at 100 pairs)",
    )
    where.add_argument("--partition", help="slurm: partition (default: the cluster's)")
    where.add_argument("--gpus-per-run", type=int, default=0, help="slurm: GPUs per task (0)")
    where.add_argument(
        "--cpus-per-run",
        type=int,
        help="CPU threads per run: slurm's CPUs per task (default 2); on this machine torch's "
        "threads per run (default its cores / --workers), e.g. two runners of different grids "
        "side by side with `--cpus-per-run 1` each",
    )
    where.add_argument(
        "--time",
        type=int,
        default=120,
        help="slurm: minutes per task; a task killed at its limit "
        "or preempted is requeued and starts its run again (default 120)",
    )
    where.add_argument("--max-parallel", type=int, help="slurm: tasks running at once")
    where.add_argument(
        "--slurm-setup",
        action="append",
        default=[],
        metavar="LINE",
        help="slurm: a shell line each task runs first (e.g. 'source .venv/bin/activate'); repeatable",
    )
    where.add_argument(
        "--no-wait",
        action="store_true",
        help="slurm: return once the job array is submitted; follow with `status`",
    )
    return run


def overrides(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    """--set items and the shortcut flags, as (section, field, raw value)."""
    from benchmark.spec import parse_override

    items = [parse_override(item) for item in args.overrides]
    if args.prefix_len is not None:
        items += [("method", "prefix_len", str(args.prefix_len)), ("method", "init_text", "null")]
    if args.adapter_pct is not None:
        items.append(("method", "adapter_pct", str(args.adapter_pct)))
    if args.num_beams is not None:
        items.append(("decode", "num_beams", str(args.num_beams)))
    if args.max_source_tokens is not None:
        items.append(("train", "max_source_tokens", str(args.max_source_tokens)))
    if args.precision is not None:
        items += [("train", "precision", args.precision), ("decode", "precision", args.precision)]
    return items


def apply_to_runs(specs: list, items: list[tuple[str, str, str]]) -> list:
    """Every run with the overrides applied; a method option no run's method has is an error."""
    from benchmark.methods import METHODS
    from benchmark.spec import apply_overrides, field_types

    out, used = [], set()
    for spec in specs:
        config_cls = METHODS.get(spec.method).config_cls
        known = field_types(config_cls)
        used |= {name for section, name, _ in items if section == "method" and name in known}
        out.append(apply_overrides(spec, items, config_cls))
    unused = sorted({name for section, name, _ in items if section == "method"} - used)
    if unused:
        methods = sorted({s.method for s in specs})
        raise ConfigError(f"option(s) {unused} apply to none of the methods {methods}")
    # the method configs validate their own values (e.g. prefix_len >= 1), before any model loads
    for spec in out:
        METHODS.get(spec.method).make_config(spec.method_options)
    return out


ADHOC_ONLY = ("method", "dataset", "train_size", "seed", "subset")


def check_executor_options(args: argparse.Namespace) -> None:
    """Options of one executor given to another are refused, never ignored."""
    if args.workers < 1:
        raise ConfigError("--workers must be >= 1")
    slurm_only = {
        "--partition": args.partition is not None,
        "--gpus-per-run": args.gpus_per_run != 0,
        "--time": args.time != 120,
        "--max-parallel": args.max_parallel is not None,
        "--slurm-setup": bool(args.slurm_setup),
    }
    if args.cpus_per_run is not None and args.cpus_per_run < 1:
        raise ConfigError("--cpus-per-run must be >= 1")
    given = [flag for flag, set_ in slurm_only.items() if set_]
    if given and args.executor != "slurm":
        verb = "applies" if len(given) == 1 else "apply"
        raise ConfigError(f"{', '.join(given)} {verb} only to --executor slurm")
    if args.no_wait and args.executor != "slurm":
        raise ConfigError(
            "--no-wait applies to --executor slurm (local executors keep their runs going from "
            "this process: run it under nohup to leave it)"
        )
    if args.executor == "slurm" and args.workers != 1:
        raise ConfigError("--workers applies to local executors; on Slurm use --max-parallel")
    for flag, value in (("--gpus-per-run", args.gpus_per_run), ("--time", args.time)):
        if value < 0 or (flag == "--time" and value < 1):
            raise ConfigError(f"{flag} must be >= {0 if flag == '--gpus-per-run' else 1}")


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data import DATASETS, resolve_data_dir
    from benchmark.experiments import GRIDS
    from benchmark.experiments.recipes import adhoc_runs
    from benchmark.methods import METHODS
    from benchmark.models import MODELS
    from benchmark.paths import default_dir
    from benchmark.run.executors import ExecutorOptions, launch
    from benchmark.run.grid import Execution, run_specs
    from benchmark.run.store import check_results_dir

    if bool(args.grid) == bool(args.method):
        raise ConfigError("give either --grid NAME or --method LIST (with --train-size)")
    check_executor_options(args)
    if args.model:
        MODELS.entry(args.model)  # fail early, with near matches
    grid_specs: list = []  # the named grid as it stands, before any option changes it
    if args.grid:
        given = [f"--{o.replace('_', '-')}" for o in ADHOC_ONLY if getattr(args, o) is not None]
        if given:
            raise ConfigError(
                f"{', '.join(given)} select ad-hoc runs and do not apply to --grid (a grid has its "
                "own sizes, subsets and seeds; `--dry-run` lists them); use --method ... instead"
            )
        name = GRIDS.resolve(args.grid)
        if name != args.grid:
            print(f"note: grid {args.grid!r} is now called {name!r} (ACL numbering)")
        specs = grid_specs = GRIDS.get(name).specs(args.scale, args.model)
    else:
        if not args.train_size:
            raise ConfigError("--method needs --train-size, e.g. --train-size 50,100")
        if any(size < 1 for size in args.train_size):
            raise ConfigError(
                "--train-size must be >= 1 (the full-data grids train on whole splits)"
            )
        for name in args.method:
            METHODS.entry(name)
        datasets = args.dataset or ["e2e"]
        for name in datasets:
            DATASETS.entry(name)
        specs = adhoc_runs(
            args.scale,
            args.method,
            datasets,
            args.train_size,
            args.seed or [0],
            args.subset or [0],
            args.model,
        )
    specs = apply_to_runs(specs, overrides(args))
    device = args.device or ("cuda" if args.gpus_per_run else "cpu")
    # checked here, before any work, where the runs execute on this machine (Slurm tasks run
    # on the cluster's nodes, which this login node may not resemble)
    device_type = device if args.executor == "slurm" else None
    if device_type is None:
        from benchmark.lm import resolve_device

        device_type = resolve_device(device).type
    if any("bf16" in (spec.train.precision, spec.decode.precision) for spec in specs):
        from benchmark.lm import bf16_refusal

        why = bf16_refusal(device_type) if device_type in ("cpu", "cuda") else None
        if why:
            raise ConfigError(f"--precision bf16: {why}")
    committed = args.results_dir is None
    results_dir = default_dir("results") if committed else Path(args.results_dir)
    check_results_dir(results_dir)
    # a named grid no option changed is its whole current recipe: rows of runs it no longer has
    # (a recipe change renamed them) are marked superseded, so reports never mix recipes
    complete = bool(args.grid) and specs == grid_specs
    how = Execution(device=device, reuse=not args.no_reuse)
    if args.dry_run:
        run_specs(specs, Path("."), results_dir, dry_run=True, complete_grid=complete, how=how)
        return 0
    data_dir = resolve_data_dir(args.data_dir)
    options = ExecutorOptions(
        workers=args.workers,
        partition=args.partition,
        gpus_per_run=args.gpus_per_run,
        cpus_per_run=args.cpus_per_run,
        time_min=args.time,
        max_parallel=args.max_parallel,
        setup=tuple(args.slurm_setup),
        wait=not args.no_wait,
        how=how,
    )
    if args.executor == "local" and args.workers == 1:
        if args.cpus_per_run:
            from benchmark.run.executors import set_threads

            set_threads(args.cpus_per_run)
            print(f"local: one run at a time, {args.cpus_per_run} thread(s)", flush=True)
        failed = run_specs(
            specs,
            data_dir,
            results_dir,
            complete_grid=complete,
            retry_failed=args.retry_failed,
            committed_note=committed and bool(args.grid),
            how=how,
        )
    else:
        failed = launch(
            args.executor,
            specs,
            data_dir,
            results_dir,
            options,
            complete_grid=complete,
            retry_failed=args.retry_failed,
        )
    if failed:
        print(f"error: {failed} run(s) failed; `status` shows why", file=sys.stderr)
        return 1
    return 0
