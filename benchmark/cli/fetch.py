"""`python -m benchmark fetch DATASET --dest DIR`: download and verify a dataset's original files
(needs a network; the datasets that have a downloader)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "fetch",
        help="download original dataset files (needs a network)",
        description="Downloads a dataset's original public release into DEST/<dataset>/ (the "
        "layout `--data-dir` expects). Needs a network; every other command runs offline.",
        epilog="example:\n  python -m benchmark fetch e2e --dest data/",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("dataset", help="a dataset with a downloader (e2e, dart)")
    parser.add_argument(
        "--dest",
        default=os.environ.get("BENCHMARK_DATA_DIR", "data"),
        help="the data root (default: $BENCHMARK_DATA_DIR, else data/)",
    )
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data import DATASETS
    from benchmark.errors import ConfigError

    dataset = DATASETS.get(args.dataset)
    if dataset.fetch is None:
        fetchable = [e.name for e in DATASETS if DATASETS.get(e.name).fetch is not None]
        raise ConfigError(
            f"{args.dataset} has no downloader; fetch one of {', '.join(fetchable)} or put its "
            "files in the data dir (see the data README)"
        )
    for path in dataset.fetch(Path(args.dest)):
        print(f"verified {path}")
    print(f"done; use --data-dir {args.dest} or export BENCHMARK_DATA_DIR={args.dest}")
    return 0
