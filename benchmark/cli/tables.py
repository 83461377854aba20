"""`python -m benchmark tables`: the paper's tables with ours beside them (Markdown + LaTeX) and
the README's tables block, from results/<grid>.csv (no torch)."""

from __future__ import annotations

import argparse
from collections.abc import Callable


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
        "tables",
        help="the paper's tables with ours beside them (Markdown + LaTeX, from CSVs)",
        description=(
            "Writes the paper's Tables 2-5 (and the ad-hoc runs) as Markdown and LaTeX, each cell "
            "ours beside the paper's (from the paper's reference_results.csv), non-converged cells "
            "marked, and rewrites the README's tables block when it read the project's own "
            "results/. Reads CSVs only (no torch)."
        ),
        epilog="examples:\n  python -m benchmark tables\n"
        "  python -m benchmark tables --paper-version arXiv2021",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_report_options(parser, "tables")
    return parser


def add_report_options(parser: argparse.ArgumentParser, block: str) -> None:
    """The folder and paper options every written report shares (`tables`, `claims`); `block`
    names the README block the report rewrites."""
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument(
        "--out",
        help="default: the project's tables/ for the project's results/, else "
        "<results dir>/tables/",
    )
    parser.add_argument(
        "--readme",
        help=f"also rewrite the {block} block of this file (between its `{block}:begin` and "
        f"`{block}:end` markers; default: the project's README.md, and only for the project's "
        "results/)",
    )
    parser.add_argument(
        "--paper-version",
        type=paper_version,
        default="ACL2021",
        help="which paper version's numbers to show (default: ACL2021, the published one)",
    )


def say_readme(where, updated: Callable[[], bool], block: str) -> None:
    """Rewrite the README block through `updated` where the report may, and say what happened."""
    if where.readme is None:
        print(f"README not touched: {where.results} is not the project's results/ (--readme)")
    elif where.readme.is_file() and updated():
        print(f"updated the {block} block of {where.readme}")
    else:
        print(
            f"{where.readme}: no {block} block (markers {block}:begin / {block}:end); not updated"
        )


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report import outputs
    from benchmark.report.tables import update_readme, write_tables

    where = outputs(args.results_dir, args.out, "tables", args.readme)
    for path in write_tables(where.results, where.out, args.paper_version):
        print(f"wrote {path}")
    say_readme(
        where, lambda: update_readme(where.readme, where.results, args.paper_version), "tables"
    )
    return 0
