"""`python -m benchmark status`: what is done, running (who, since, last heartbeat), failed (the
error), pending and stale, per grid (no torch; safe while runs are going)."""

from __future__ import annotations

import argparse
import time


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    from benchmark.experiments.recipes import ALL_SCALES

    parser = sub.add_parser(
        "status",
        help="done / running / failed / pending / stale runs of each grid (safe during a run)",
        description=(
            "Counts each grid's runs at a scale as done, running (held by a live runner), "
            "failed (with the error of the last attempt), pending or stale (a finished row the "
            "recipe no longer has), and lists the unfinished ones. It only reads: safe while "
            "runners work on the same folder."
        ),
        epilog="examples:\n  python -m benchmark status --scale protocol\n"
        "  python -m benchmark status --grid lowdata --all",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--grid", help="one grid (default: every grid with a results CSV)")
    parser.add_argument("--scale", choices=ALL_SCALES, default="quick", help="default: quick")
    parser.add_argument("--model", help="the model the runs used (default: the scale's)")
    parser.add_argument("--results-dir", help="default: the project's results/")
    parser.add_argument(
        "--all", action="store_true", help="list every run, not only the unfinished ones"
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.experiments import GRIDS
    from benchmark.paths import given_or_default
    from benchmark.run.status import STATES, grid_status
    from benchmark.run.store import results_path

    results_dir = given_or_default(args.results_dir, "results")
    if args.grid:
        grids = [GRIDS.resolve(args.grid)]
    else:
        grids = [
            g
            for g in GRIDS.names()
            if results_path(results_dir, g).is_file() and args.scale in GRIDS.get(g).scales
        ]
        if not grids:
            print(f"no results in {results_dir} yet; start one with `run --grid lowdata`")
            return 0
    now = time.time()
    for name in grids:
        specs = GRIDS.get(name).specs(args.scale, args.model)
        entries = grid_status(specs, results_dir, now)
        counts = ", ".join(
            f"{sum(e.state == s for e in entries)} {s}"
            for s in STATES
            if any(e.state == s for e in entries)
        )
        print(f"{name} ({args.scale}): {len(specs)} runs: {counts}")
        for entry in entries:
            if entry.state == "done" and not args.all:
                continue
            detail = f"  {entry.detail}" if entry.detail else ""
            print(
                f"  [{entry.state}] {entry.model:14s} {entry.run_id}  ({entry.config_hash}){detail}"
            )
    return 0
