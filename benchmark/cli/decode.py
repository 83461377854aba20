"""`python -m benchmark decode RUN_DIR`: decode a finished run again from its stored parameters
(no training), score it, and count how many outputs equal the recorded ones."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "decode",
        help="decode a finished run again from its stored parameters (no training) and score it",
        description=(
            "Loads a finished run's stored parameters (trained.safetensors; full fine-tunes store "
            "none and cannot be re-decoded), decodes its evaluation inputs again with the "
            "recorded decoding settings, and reports how many outputs equal the recorded ones "
            "and the metrics beside the row's. Nothing is written to the results CSV."
        ),
        epilog="example:\n  python -m benchmark decode "
        "results/runs/lowdata/quick/smollm2-135m/e2e/prefix/n=50/subset=0/seed=0/bb441b71a8",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("run_dir", help="a run's folder under results/runs/")
    parser.add_argument("--data-dir", help="dataset root (default: $BENCHMARK_DATA_DIR)")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data import resolve_data_dir
    from benchmark.run.execute import redecode

    result = redecode(Path(args.run_dir), resolve_data_dir(args.data_dir))
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0
