"""`python -m benchmark plot`: the paper's Figures 3-6 from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "plot", help="draw the paper's figures 3-6 from results/<grid>.csv (PNG and PDF)"
    )
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument(
        "--out",
        help="default: the project's figures/ for the project's results/, else "
        "<results dir>/figures/",
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report import outputs
    from benchmark.report.plot import plot_all

    where = outputs(args.results_dir, args.out, "figures")
    for path in plot_all(where.results, where.out):
        print(f"wrote {path}")
    return 0
