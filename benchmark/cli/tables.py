"""`python -m benchmark tables`: the paper's tables with ours beside them (Markdown + LaTeX) and
the README's tables block, from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse


def _paper_version(text: str) -> str:
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
    parser.add_argument("--out", help="default: the project's tables/")
    parser.add_argument(
        "--readme",
        help="also rewrite the tables block of this file (between its `tables:begin` and "
        "`tables:end` markers; default: the project's README.md)",
    )
    parser.add_argument(
        "--paper-version",
        type=_paper_version,
        default="ACL2021",
        help="which paper version's numbers to show (default: ACL2021, the published one)",
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.paths import given_or_default
    from benchmark.report.tables import update_readme, write_tables

    results = given_or_default(args.results_dir, "results")

    for path in write_tables(results, given_or_default(args.out, "tables"), args.paper_version):
        print(f"wrote {path}")
    readme = given_or_default(args.readme, "README.md")
    if readme.is_file() and update_readme(readme, results, args.paper_version):
        print(f"updated the tables block of {readme}")
    else:
        print(f"{readme}: no tables block (markers tables:begin / tables:end); not updated")
    return 0
