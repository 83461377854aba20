"""`python -m benchmark tables`: the paper's tables with ours beside them (Markdown + LaTeX) and
the README's tables block, from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse


def paper_version(text: str) -> str:
    """A paper version of `paper.PAPER_VERSIONS`, in any case (`arxiv-v1` works)."""
    from benchmark.paper import PAPER_VERSIONS

    versions = {version.lower(): version for version in PAPER_VERSIONS}
    if text.lower() not in versions:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(PAPER_VERSIONS)}, got {text!r}"
        )
    return versions[text.lower()]


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "tables", help="the paper's tables with ours beside them (Markdown + LaTeX, from CSVs)"
    )
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument(
        "--out",
        help="default: the project's tables/ for the project's results/, else "
        "<results dir>/tables/",
    )
    parser.add_argument(
        "--readme",
        help="also rewrite the tables block of this file (between its `tables:begin` and "
        "`tables:end` markers; default: the project's README.md, and only for the project's "
        "results/)",
    )
    parser.add_argument(
        "--paper-version",
        type=paper_version,
        default="ACL2021",
        help="which paper version's numbers to show (default: ACL2021, the published one)",
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report import outputs
    from benchmark.report.tables import update_readme, write_tables

    where = outputs(args.results_dir, args.out, "tables", args.readme)
    for path in write_tables(where.results, where.out, args.paper_version):
        print(f"wrote {path}")
    if where.readme is None:
        print(f"README not touched: {where.results} is not the project's results/ (--readme)")
    elif where.readme.is_file() and update_readme(where.readme, where.results, args.paper_version):
        print(f"updated the tables block of {where.readme}")
    else:
        print(f"{where.readme}: no tables block (markers tables:begin / tables:end); not updated")
    return 0
