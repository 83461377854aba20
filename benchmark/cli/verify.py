"""`python -m benchmark verify --grid G`: rerun a grid's committed runs in a scratch folder and
say, run by run, whether outputs and metrics are identical to the committed ones."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    from benchmark.experiments.recipes import ALL_SCALES

    parser = sub.add_parser(
        "verify",
        help="rerun committed runs in a scratch folder and compare outputs and metrics",
        description="The project's reproducibility check: every committed finished run of the "
        "grid (at this scale and model) is run again from scratch in a scratch folder, then its "
        "outputs and metrics are compared with the committed ones. Exit 1 if any differs.",
        epilog="example:\n  python -m benchmark verify --grid lowdata --scale quick "
        "--data-dir ../shared/data",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--grid", required=True, help="the grid whose committed runs to rerun")
    parser.add_argument("--scale", choices=ALL_SCALES, default="quick", help="default: quick")
    parser.add_argument("--model", help="default: the scale's")
    parser.add_argument("--results-dir", help="the committed results (default: the project's)")
    parser.add_argument("--scratch", help="where the reruns go (default: a new temporary folder)")
    parser.add_argument("--data-dir", help="dataset root (default: $BENCHMARK_DATA_DIR)")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data import DATASETS, resolve_data_dir
    from benchmark.errors import ConfigError
    from benchmark.experiments import GRIDS
    from benchmark.paths import default_dir
    from benchmark.run.grid import run_specs
    from benchmark.run.store import check_results_dir
    from benchmark.run.verify import committed_specs, compare

    committed = Path(args.results_dir) if args.results_dir else default_dir("results")
    specs = committed_specs(
        GRIDS.get(GRIDS.resolve(args.grid)).specs(args.scale, args.model), committed
    )
    if not specs:
        raise ConfigError(
            f"no committed finished run of grid {args.grid} at scale {args.scale} in {committed}"
        )
    scratch = Path(args.scratch) if args.scratch else Path(tempfile.mkdtemp(prefix="verify-"))
    if scratch.resolve() == committed.resolve():
        raise ConfigError("--scratch must not be the committed results folder")
    check_results_dir(scratch)
    data_dir = resolve_data_dir(args.data_dir)
    print(f"verify: rerunning {len(specs)} committed run(s) of {args.grid} into {scratch}")
    run_specs(specs, data_dir, scratch)
    metrics = {spec.dataset: DATASETS.get(spec.dataset).metrics for spec in specs}
    results = compare(specs, metrics, committed, scratch)
    for result in results:
        print(f"  [{'same' if result.identical else 'DIFFERS'}] {result.run_id}: {result.detail}")
    same = sum(r.identical for r in results)
    print(f"verify: {same}/{len(results)} run(s) identical to the committed ones")
    return 0 if same == len(results) else 1
