"""`python -m benchmark plot`: the paper's Figures 3-6 from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "plot", help="draw the paper's figures 3-6 from results/<grid>.csv (PNG and PDF)"
    )
    parser.add_argument("--results-dir", default="results", help="default: results")
    parser.add_argument("--out", default="figures", help="default: figures")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report.plot import plot_all

    for path in plot_all(Path(args.results_dir), Path(args.out)):
        print(f"wrote {path}")
    return 0
