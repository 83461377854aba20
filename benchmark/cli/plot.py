"""`python -m benchmark plot`: the paper's Figures 3-6 from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "plot", help="draw the paper's figures 3-6 from results/<grid>.csv (PNG and PDF)"
    )
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument("--out", help="default: the project's figures/")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.paths import given_or_default
    from benchmark.report.plot import plot_all

    for path in plot_all(
        given_or_default(args.results_dir, "results"), given_or_default(args.out, "figures")
    ):
        print(f"wrote {path}")
    return 0
