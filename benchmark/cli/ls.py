"""`python -m benchmark ls [KIND]`: what is registered (no torch: entries are read, not imported)."""

from __future__ import annotations

import argparse

KINDS = {
    "methods": ("benchmark.methods", "METHODS"),
    "models": ("benchmark.models", "MODELS"),
    "datasets": ("benchmark.data", "DATASETS"),
    "grids": ("benchmark.experiments", "GRIDS"),
}


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "ls",
        help="list registered methods, models, datasets or grids",
        description="Lists what the registries hold, one line each with what it is: the names "
        "`run --method`, `--model`, `--dataset` and `--grid` accept.",
        epilog="examples:\n  python -m benchmark ls\n  python -m benchmark ls grids",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("what", nargs="?", choices=list(KINDS), help="which kind (default: all)")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    import importlib

    kinds = [args.what] if args.what else list(KINDS)
    for kind in kinds:
        module, name = KINDS[kind]
        registry = getattr(importlib.import_module(module), name)
        if len(kinds) > 1:
            print(f"{kind}:")
        for entry in registry:
            print(f"{'  ' if len(kinds) > 1 else ''}{entry.name:16s} {entry.summary}")
    return 0
