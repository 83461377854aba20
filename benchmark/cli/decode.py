"""`python -m benchmark decode RUN_DIR`: decode a finished run again from its stored parameters
(no training), score it, and count how many outputs equal the recorded ones."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "decode",
        help="decode a finished run again from its stored parameters (no training) and score it",
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
