"""`python -m benchmark params --model M`: trainable and stored parameters of every paper method
row (and of every registered method outside the paper, at its defaults) on a model."""

from __future__ import annotations

import argparse


def add_parser(sub, epilog: str) -> argparse.ArgumentParser:
    parser = sub.add_parser(
        "params",
        help="trainable and stored parameters of every paper method variant on a model",
        description=(
            "Counts, for each method variant of the paper (prefix 0.1%/2%, adapters 3%/0.1%, "
            "FT-top2, EMB-k, INFIX-k, LoRA, ...), the parameters trained and the parameters "
            "stored after training (the prefix MLP is dropped), as numbers and as a share of the "
            "LM's: the budgets behind the paper's '0.1%' labels, on your model."
        ),
        epilog="example:\n  python -m benchmark params --model smollm2-135m",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--model", default="smollm2-135m", help="hub GPT-2s are counted by shape")
    return parser


def main(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.budget import parameter_table

    rows = parameter_table(args.model)
    print(f"{args.model}: {rows[0]['lm_params']:,} LM parameters")
    print(f"{'variant':20s} {'trainable':>12s} {'%':>8s} {'stored':>12s} {'%':>8s}")
    for r in rows:
        print(
            f"{r['variant']:20s} {r['trainable_params']:12,d} {r['trainable_pct']:8.3f} "
            f"{r['stored_params']:12,d} {r['stored_pct']:8.3f}"
        )
    return 0
