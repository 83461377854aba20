"""`python -m benchmark claims`: the paper's claims decided on our runs, with 95% intervals
(tables/claims.md and .tex, and the README's claims block), from results/<grid>.csv (no torch).

    python -m benchmark claims                   # protocol runs where they exist, else quick
    python -m benchmark claims --scale paper --model gpt2-medium
    python -m benchmark claims --results-dir ../mine        # -> ../mine/tables/claims.md only
"""

from __future__ import annotations

import argparse


def _scales(text: str) -> str:
    from benchmark.experiments.recipes import ALL_SCALES

    unknown = [s for s in text.split(",") if s.strip() not in ALL_SCALES]
    if unknown or not text.strip():
        raise argparse.ArgumentTypeError(
            f"unknown scale(s) {', '.join(unknown) or text!r}; known: {', '.join(ALL_SCALES)}"
        )
    return text


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    from benchmark.cli.tables import paper_version
    from benchmark.experiments.recipes import ALL_SCALES

    parser = sub.add_parser(
        "claims",
        help="the paper's claims decided on our runs: reproduced / contradicted / inconclusive",
    )
    parser.add_argument(
        "--scale",
        type=_scales,
        default="protocol,quick",
        help="a scale, or several in order of preference: each claim is decided on the first "
        "with runs of its grid (default: protocol,quick: the paper's 5 subsets x 2 seeds where "
        f"they ran, the quick grids otherwise; scales: {', '.join(ALL_SCALES)})",
    )
    parser.add_argument("--model", help="default: each model with runs at that scale")
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument(
        "--out",
        help="default: the project's tables/ for the project's results/, else "
        "<results dir>/tables/",
    )
    parser.add_argument(
        "--readme",
        help="also rewrite the claims block of this file (between `claims:begin` and "
        "`claims:end`; default: the project's README.md, and only for the project's results/)",
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
    from benchmark.report.claims import update_readme, write_claims

    where = outputs(args.results_dir, args.out, "tables", args.readme)
    written, decided = write_claims(
        where.results, where.out, args.scale, args.model, args.paper_version
    )
    for path in written:
        print(f"wrote {path}")
    for model, decisions in decided:
        counts = ", ".join(
            f"{sum(d.verdict == v for d in decisions)} {v}"
            for v in ("reproduced", "contradicted", "inconclusive", "not run")
        )
        print(f"{model or 'no runs'} ({args.scale}): {counts}")
    if where.readme is None:
        print(f"README not touched: {where.results} is not the project's results/ (--readme)")
    elif where.readme.is_file() and update_readme(where.readme, decided, args.scale):
        print(f"updated the claims block of {where.readme}")
    else:
        print(f"{where.readme}: no claims block (claims:begin / claims:end); not updated")
    return 0
