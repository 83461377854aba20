"""`python -m benchmark plot`: the paper's Figures 3-6 from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "plot",
        help="draw the paper's figures 3-6 from results/<grid>.csv (PNG and PDF)",
        description=(
            "Draws the paper's Figures 3-6 (low data, prefix length, initialisation, data "
            "efficiency) from the finished rows of results/<grid>.csv, one figure per grid and "
            "scale that has runs: each point the mean of its runs with a 95% bootstrap interval, "
            "the runs as faint dots, non-converged runs hollow, the paper's stated effect in the "
            "footnote. Reads CSVs only (no torch, no model): run it any time, also during a grid."
        ),
        epilog="examples:\n  python -m benchmark plot\n"
        "  python -m benchmark plot --results-dir ../mine   # writes ../mine/figures/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
