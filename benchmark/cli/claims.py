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


def run_scales(model: str | None = None) -> dict[str, str]:
    """Per claim id, the cheapest scale whose grid builds runs of both of the claim's groups on
    one of its datasets: the scale a "not run" row tells the reader to run (Figure 3's XSUM
    panel is at `paper` only; the quick low-data grid is E2E)."""
    from benchmark.experiments import GRIDS
    from benchmark.paper import CLAIM_LIST

    by_cost = ("quick", "protocol", "paper")  # `smoke` is a plumbing check, never a verdict
    found, built = {}, {}
    for claim in CLAIM_LIST:
        grid = GRIDS.get(claim.grid)
        datasets = {m.dataset for m in claim.measures}
        for scale in (s for s in by_cost if s in grid.scales):
            if (claim.grid, scale) not in built:  # several claims share a grid
                built[claim.grid, scale] = grid.build(scale, model)
            specs = built[claim.grid, scale]
            labels = {spec.label for spec in specs if spec.dataset in datasets}
            if labels & set(claim.a.variants) and labels & set(claim.b.variants):
                found[claim.id] = scale
                break
    return found


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    from benchmark.cli.tables import add_report_options
    from benchmark.experiments.recipes import ALL_SCALES

    parser = sub.add_parser(
        "claims",
        help="the paper's claims decided on our runs: reproduced / contradicted / inconclusive",
        description=(
            "Decides each of the paper's claims (Tables 2-5, Figures 3-6; defined once in "
            "benchmark/paper.py) on the finished, converged runs: our effect with a 95% paired "
            "bootstrap interval over the (subset, seed) units both groups ran, and a verdict "
            "(reproduced, contradicted, inconclusive with how many more runs would decide it and "
            "their wall time, or not run with the command that runs it). Writes tables/claims.md "
            "and .tex and the README's claims block. Reads CSVs only (no torch): seconds."
        ),
        epilog="examples:\n  python -m benchmark claims\n"
        "  python -m benchmark claims --scale quick   # decide on the quick grids only",
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
    add_report_options(parser, "claims")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.cli.tables import say_readme
    from benchmark.report import outputs
    from benchmark.report.claims import update_readme, write_claims

    where = outputs(args.results_dir, args.out, "tables", args.readme)
    written, decided = write_claims(
        where.results, where.out, args.scale, args.model, args.paper_version, run_scales(args.model)
    )
    for path in written:
        print(f"wrote {path}")
    for model, decisions in decided:
        counts = ", ".join(
            f"{sum(d.verdict == v for d in decisions)} {v}"
            for v in ("reproduced", "contradicted", "inconclusive", "not run")
        )
        print(f"{model or 'no runs'} ({args.scale}): {counts}")
    say_readme(where, lambda: update_readme(where.readme, decided, args.scale), "claims")
    return 0
