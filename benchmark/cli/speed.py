"""`python -m benchmark speed`: our training step and decoder against their anchors (PEFT, the
plain transformers loop, `generate`), interleaved in one process; one CSV row per case."""

from __future__ import annotations

import argparse


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "speed",
        help="time a training step of every method and beam decoding against their anchors",
        description=(
            "Times, in one process with the cases interleaved (the first round is warm-up; each "
            "row is the median of the rest): a training step of every registered method against "
            "its anchor (PEFT for prefix, LoRA and prompt tuning; the plain transformers loop "
            "otherwise), and beam-5 decoding with a prefix against our decoding without one and "
            "against transformers' generate. Each row gives the measured ratio beside its target "
            "(the speed issue's); compare ratios, not seconds, across machines. Ours and the "
            "anchors alike run with freed memory kept in glibc's heap, as runs do "
            "(BENCHMARK_MALLOC=default: the C library's defaults, for an A/B)."
        ),
        epilog="example: python -m benchmark speed --quick --data-dir ../shared/data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", help="CSV to write (default: results/speed.csv; -quick and "
                        "-bf16 added to the name with those options)")  # fmt: skip
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rounds, batches and tokens: about 5 minutes on 2 CPU cores",
    )
    parser.add_argument("--data-dir", help="default: $BENCHMARK_DATA_DIR (E2E pairs are timed)")
    parser.add_argument("--model", default="smollm2-135m", help="default: smollm2-135m")
    parser.add_argument(
        "--device", default="cpu", choices=("cpu", "cuda", "auto"), help="default: cpu"
    )
    parser.add_argument(
        "--precision",
        default="fp32",
        choices=("fp32", "bf16"),
        help="bf16: ours and the anchors under bf16 autocast (refused where the device has no "
        "native bf16); default fp32",
    )
    parser.add_argument(
        "--only",
        metavar="CASES",
        help="comma-separated methods and/or 'decode': time only those cases (e.g. after changing "
        "one method: --only infix); the default CSV name gets them appended, so results/speed.csv "
        "keeps the whole table",
    )
    parser.add_argument(
        "--threads",
        action="store_true",
        help="instead: one run with every core against one run per half of the cores, for "
        "fine-tuning and prefix training steps (how many `run --workers` pay here); writes "
        "results/speed-threads.csv",
    )
    parser.add_argument(
        "--allocator",
        action="store_true",
        help="instead: training steps (ours and the anchor's) with freed memory kept, as runs do, "
        "against glibc's starting allocator thresholds, alternated in one process (fine-tuning "
        "and prefix, or the methods --only names); writes results/speed-allocator.csv",
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import importlib.util

    from benchmark.data import resolve_data_dir
    from benchmark.data.e2e import e2e_path
    from benchmark.errors import ConfigError
    from benchmark.models import MODELS
    from benchmark.paths import given_or_default

    MODELS.entry(args.model)  # an unknown model fails here, with near matches
    data_dir = resolve_data_dir(args.data_dir)
    for split in ("train", "test"):
        if not e2e_path(data_dir, split).is_file():
            raise ConfigError(f"{e2e_path(data_dir, split)} is missing: speed times E2E pairs")
    only = _only(args.only)
    if only and args.threads:
        raise ConfigError("--threads times fine-tuning and prefix steps: drop --only")
    if args.threads and args.allocator:
        raise ConfigError("--threads and --allocator are two separate measurements: give one")
    if "decode" in only and args.allocator:
        raise ConfigError("--allocator times training steps: drop 'decode' from --only")
    stem = (
        "speed"
        + ("-" + "-".join(only) if only else "")
        + ("-threads" if args.threads else "")
        + ("-allocator" if args.allocator else "")
        + ("-quick" if args.quick else "")
        + ("-bf16" if args.precision == "bf16" else "")
    )
    default = f"results/{stem}.csv"
    out = given_or_default(args.out, default)
    if args.threads:
        if args.device != "cpu" or args.precision != "fp32":
            raise ConfigError("--threads measures CPU threads in fp32: drop --device/--precision")
        from benchmark.speed import thread_cases, write_rows

        steps, rounds = (2, 1) if args.quick else (3, 3)
        rows = thread_cases(args.model, data_dir, ("finetune", "prefix"), steps, rounds)
        if not rows:
            raise ConfigError("--threads needs at least 2 cores")
        write_rows(out, rows)
        print(f"wrote {out}")
        return 0
    if importlib.util.find_spec("peft") is None:
        raise ConfigError("the PEFT anchors need peft: pip install -e '.[speed]' (peft==0.21.2)")
    if args.allocator:
        if args.device != "cpu" or args.precision != "fp32":
            raise ConfigError(
                "--allocator measures the CPU allocator in fp32: drop --device/--precision"
            )
        from benchmark.speed import FULL, QUICK, allocator_cases, write_rows

        methods = only or ("finetune", "prefix")
        rows = allocator_cases(args.model, data_dir, methods, QUICK if args.quick else FULL)
        if not rows:
            raise ConfigError("--allocator needs glibc (Linux): mallopt sets its thresholds")
        write_rows(out, rows)
        print(f"wrote {out}")
        return 0
    from benchmark.lm import bf16_refusal, resolve_device
    from benchmark.speed import run_speed

    device = resolve_device(args.device)  # a GPU asked for and absent fails here, before loading
    if args.precision == "bf16" and bf16_refusal(device.type):
        raise ConfigError(f"--precision bf16: {bf16_refusal(device.type)}")
    run_speed(args.model, data_dir, args.device, args.quick, out, args.precision, only)
    print(f"wrote {out}")
    return 0


def _only(given: str | None) -> tuple[str, ...]:
    """The cases `--only` names, checked against the registry (one line when a name is unknown)."""
    from benchmark.errors import ConfigError
    from benchmark.methods import METHODS

    if not given:
        return ()
    names = tuple(n.strip() for n in given.split(",") if n.strip())
    known = (*METHODS.names(), "decode")
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise ConfigError(
            f"--only {given!r}: unknown case {', '.join(unknown) or '(none given)'}; "
            f"known: {', '.join(known)}"
        )
    return names
