"""The command line: run grids, plot figures, list what is registered, fetch data.

python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
python -m benchmark run --grid lowdata --scale paper --dry-run
python -m benchmark run --method finetune,prefix --dataset e2e --train-size 50 --scale smoke
python -m benchmark plot                      # results/*.csv -> figures/
python -m benchmark ls methods                # also: models, datasets, grids
python -m benchmark fetch e2e --dest data/    # the original E2E release (needs a network)
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path

EPILOG = """\
examples:
  python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
      Figure 3 (E2E) on the embedded SmolLM2-135M in under 30 min on 2 CPU cores
  python -m benchmark run --grid lowdata --scale paper --dry-run
      list the paper-scale runs (4 sizes x 5 subsets x 2 seeds x 2 methods) and which are done
  python -m benchmark plot
      redraw figures/ from results/*.csv (no torch needed)
  python -m benchmark tables
      the paper's tables with ours beside them, in tables/ (Markdown + LaTeX)
  python -m benchmark ls grids
      every grid and the paper table or figure it reproduces

The data directory comes from --data-dir or the BENCHMARK_DATA_DIR environment variable; it must
hold e2e/trainset.csv, e2e/devset.csv and e2e/testset_w_refs.csv (get them with `fetch e2e`).
Finished runs are skipped, so an interrupted grid resumes where it stopped.
DART's model-based metrics are computed only from local files, never downloaded: BERTScore from
roberta-large in the Hugging Face cache (`hf download roberta-large`) or BENCHMARK_BERTSCORE_MODEL=<dir>
(BENCHMARK_BERTSCORE_LAYER, default 17); MoverScore from distilbert-base-uncased or
BENCHMARK_MOVERSCORE_MODEL=<dir> (needs pyemd: pip install -e ".[dart]"); BLEURT through the bleurt
package and its test_checkpoint, or BENCHMARK_BLEURT_CHECKPOINT=<dir>.
"""


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def _int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in _csv_list(text)]
    except ValueError as err:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers, got {text!r}"
        ) from err


def _paper_version(text: str) -> str:
    """A paper version of `report.paper.PAPER_VERSIONS`, in any case (`arxiv-v1` works)."""
    from benchmark.report.paper import PAPER_VERSIONS

    versions = {version.lower(): version for version in PAPER_VERSIONS}
    if text.lower() not in versions:
        raise argparse.ArgumentTypeError(
            f"expected one of {', '.join(PAPER_VERSIONS)}, got {text!r}"
        )
    return versions[text.lower()]


def build_parser() -> argparse.ArgumentParser:
    from benchmark.grids import SCALES

    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Reproducibility benchmark suite for Prefix-Tuning (Li & Liang, ACL 2021).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser(
        "run",
        help="run a grid (or an ad-hoc list of runs) and append rows to results/<grid>.csv",
        description="Run a named grid, or ad-hoc runs from --method/--dataset/--train-size lists. "
        "Each finished run appends one row to results/<grid>.csv and keeps its outputs under "
        "results/runs/; finished runs are skipped on re-run.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("--grid", help="named grid (see `ls grids`), e.g. lowdata")
    run.add_argument(
        "--scale",
        choices=SCALES,
        default="quick",
        help="paper: the full protocol; quick: a reduced recipe, each grid within an hour on 2 CPU cores "
        "(lowdata ~24 min); smoke: tiny model, seconds "
        "(default: quick)",
    )
    run.add_argument("--model", help="override the scale's model (see `ls models`)")
    run.add_argument("--method", type=_csv_list, help="ad-hoc: comma-separated methods")
    run.add_argument("--dataset", type=_csv_list, default=["e2e"], help="ad-hoc: datasets (e2e)")
    run.add_argument("--train-size", type=_int_list, help="ad-hoc: training sizes, e.g. 50,100")
    run.add_argument("--seed", type=_int_list, default=[0], help="ad-hoc: training seeds (0)")
    run.add_argument("--subset", type=_int_list, default=[0], help="ad-hoc: low-data subsets (0)")
    run.add_argument(
        "--set",
        dest="options",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="method option for every run whose method has it, e.g. --set mid_dim=800 "
        "(see the config dataclasses in benchmark/methods/); repeatable",
    )
    run.add_argument(
        "--prefix-len",
        type=int,
        help="prefix/infix/embedding length; also turns real-word init off (random init)",
    )
    run.add_argument(
        "--adapter-pct", type=float, help="adapter budget in %% of the LM, e.g. 3 or 0.1"
    )
    run.add_argument(
        "--num-beams",
        type=int,
        help="decoding beams for every run; 1 = greedy (default: the grid's, the paper's beam 5)",
    )
    run.add_argument(
        "--max-source-tokens",
        type=int,
        help="cut sources to this many tokens in training and decoding (default: the grid's; "
        "XSUM 512 as the paper §5.3, 1024 as the authors' code)",
    )
    run.add_argument("--data-dir", help="dataset root (default: $BENCHMARK_DATA_DIR)")
    run.add_argument("--results-dir", default="results", help="where CSVs go (default: results)")
    run.add_argument(
        "--dry-run", action="store_true", help="list the runs and whether each is done"
    )

    redecode = sub.add_parser(
        "decode",
        help="decode a finished run again from its stored parameters (no training) and score it",
    )
    redecode.add_argument("run_dir", help="a run's folder under results/runs/")
    redecode.add_argument("--data-dir", help="dataset root (default: $BENCHMARK_DATA_DIR)")

    plot = sub.add_parser(
        "plot", help="draw the paper's figures 3-6 from results/<grid>.csv (PNG and PDF)"
    )
    plot.add_argument("--results-dir", default="results", help="default: results")
    plot.add_argument("--out", default="figures", help="default: figures")

    tables = sub.add_parser(
        "tables", help="the paper's tables with ours beside them (Markdown + LaTeX, from CSVs)"
    )
    tables.add_argument("--results-dir", default="results", help="default: results")
    tables.add_argument("--out", default="tables", help="default: tables")
    tables.add_argument(
        "--readme",
        default="README.md",
        help="also rewrite the tables block of this file (between its `tables:begin` and "
        "`tables:end` markers; default: README.md)",
    )
    tables.add_argument(
        "--paper-version",
        type=_paper_version,
        default="ACL2021",
        help="which paper version's numbers to show (default: ACL2021, the published one)",
    )

    params = sub.add_parser(
        "params", help="trainable and stored parameters of every paper method variant on a model"
    )
    params.add_argument("--model", default="smollm2-135m", help="hub GPT-2s are counted by shape")

    ls = sub.add_parser("ls", help="list registered methods, models, datasets or grids")
    ls.add_argument("what", choices=["methods", "models", "datasets", "grids"])

    fetch = sub.add_parser("fetch", help="download original dataset files (needs a network)")
    fetch.add_argument("dataset", choices=["e2e", "dart"])
    fetch.add_argument("--dest", default=os.environ.get("BENCHMARK_DATA_DIR", "data"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return COMMANDS[args.command](args, parser)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(
            "interrupted: finished runs are saved; the current one will rerun next time",
            file=sys.stderr,
        )
        return 130
    except Exception as err:  # one clear line for the errors a user can fix
        user_error = any(cls.__name__ in USER_ERRORS for cls in type(err).__mro__)
        if user_error or isinstance(err, (ValueError, FileNotFoundError)):
            if args.verbose:
                raise
            print(f"error: {err}", file=sys.stderr)
            return 2
        raise


# matched by class name (and base classes) so that `plot` need not import torch to catch them
USER_ERRORS = {"UnknownNameError", "DataError", "ModelLoadError", "ReportError"}


def cmd_run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data.e2e import resolve_data_dir
    from benchmark.grids import adhoc_grid
    from benchmark.registry import DATASETS, GRIDS, METHODS, MODELS
    from benchmark.runner import run_specs

    if bool(args.grid) == bool(args.method):
        parser.error("give either --grid NAME or --method LIST (with --train-size)")
    if args.model:
        MODELS.entry(args.model)  # fail early, with near matches
    grid_specs: list = []  # the named grid as it stands, before any option changes it
    if args.grid:
        specs = grid_specs = GRIDS.get(args.grid).build(args.scale, args.model)
    else:
        if not args.train_size:
            parser.error("--method needs --train-size, e.g. --train-size 50,100")
        for name in args.method:
            METHODS.entry(name)
        for name in args.dataset:
            DATASETS.entry(name)
        specs = adhoc_grid(
            args.scale,
            args.method,
            args.dataset,
            args.train_size,
            args.seed,
            args.subset,
            args.model,
        )
    specs = apply_options(specs, parse_options(args))
    if args.num_beams is not None:
        specs = [
            dataclasses.replace(s, decode=dataclasses.replace(s.decode, num_beams=args.num_beams))
            for s in specs
        ]
    if args.max_source_tokens is not None:
        if args.max_source_tokens < 1:
            parser.error("--max-source-tokens must be >= 1")
        specs = [
            dataclasses.replace(
                s, train=dataclasses.replace(s.train, max_source_tokens=args.max_source_tokens)
            )
            for s in specs
        ]
    results_dir = Path(args.results_dir)
    # a named grid no option changed is its whole current recipe: rows of runs it no longer has
    # (a recipe change renamed them) are marked superseded, so reports never mix recipes
    complete = bool(args.grid) and specs == grid_specs
    if args.dry_run:
        return run_specs(specs, Path("."), results_dir, dry_run=True, complete_grid=complete)
    data_dir = resolve_data_dir(args.data_dir)
    failed = run_specs(specs, data_dir, results_dir, complete_grid=complete)
    if failed:
        print(f"error: {failed} run(s) failed; see the status/error columns", file=sys.stderr)
        return 1
    return 0


def parse_options(args: argparse.Namespace) -> dict[str, object]:
    """--set KEY=VALUE (values read as JSON when they parse: 3, 0.1, true, null) plus shortcuts."""
    import json

    options: dict[str, object] = {}
    for item in args.options:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            options[key] = json.loads(raw)
        except json.JSONDecodeError:
            options[key] = raw
    if args.prefix_len is not None:
        options.update(prefix_len=args.prefix_len, init_text=None)
    if args.adapter_pct is not None:
        options["adapter_pct"] = args.adapter_pct
    return options


def apply_options(specs: list, options: dict[str, object]) -> list:
    """Give each run the options its method's config has; an option no method has is an error."""
    from benchmark.registry import METHODS

    used: set[str] = set()
    out = []
    for spec in specs:
        fields = {f.name for f in dataclasses.fields(METHODS.get(spec.method).config_cls)}
        mine = {k: v for k, v in options.items() if k in fields}
        used |= set(mine)
        out.append(dataclasses.replace(spec, method_options={**spec.method_options, **mine}))
    unused = set(options) - used
    if unused:
        methods = sorted({s.method for s in specs})
        raise ValueError(f"option(s) {sorted(unused)} apply to none of the methods {methods}")
    return out


def cmd_params(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.budget import parameter_table

    rows = parameter_table(args.model)
    print(f"{args.model}: {rows[0]['lm_params']:,} LM parameters")
    print(f"{'variant':15s} {'trainable':>12s} {'%':>8s} {'stored':>12s} {'%':>8s}")
    for r in rows:
        print(
            f"{r['variant']:15s} {r['trainable_params']:12,d} {r['trainable_pct']:8.3f} "
            f"{r['stored_params']:12,d} {r['stored_pct']:8.3f}"
        )
    return 0


def cmd_plot(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report.plot import plot_all

    for path in plot_all(Path(args.results_dir), Path(args.out)):
        print(f"wrote {path}")
    return 0


def cmd_decode(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.data.e2e import resolve_data_dir
    from benchmark.runner import redecode

    result = redecode(Path(args.run_dir), resolve_data_dir(args.data_dir))
    for key, value in result.items():
        print(f"{key}: {value}")
    return 0


def cmd_tables(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.report.tables import update_readme, write_tables

    for path in write_tables(Path(args.results_dir), Path(args.out), args.paper_version):
        print(f"wrote {path}")
    readme = Path(args.readme)
    if readme.is_file() and update_readme(readme, Path(args.results_dir), args.paper_version):
        print(f"updated the tables block of {readme}")
    else:
        print(f"{readme}: no tables block (markers tables:begin / tables:end); not updated")
    return 0


def cmd_ls(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from benchmark.registry import DATASETS, GRIDS, METHODS, MODELS

    registry = {"methods": METHODS, "models": MODELS, "datasets": DATASETS, "grids": GRIDS}[
        args.what
    ]
    for entry in registry:
        print(f"{entry.name:16s} {entry.summary}")
    return 0


def cmd_fetch(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.dataset == "dart":  # dev and test are in the offline copy; train is not
        from benchmark.data.dart import fetch_dart

        print(f"verified {fetch_dart(Path(args.dest))}")
    else:
        from benchmark.data.fetch import fetch_e2e

        for path in fetch_e2e(Path(args.dest)).values():
            print(f"verified {path}")
    print(f"done; use --data-dir {args.dest} or export BENCHMARK_DATA_DIR={args.dest}")
    return 0


COMMANDS = {
    "run": cmd_run,
    "decode": cmd_decode,
    "plot": cmd_plot,
    "tables": cmd_tables,
    "params": cmd_params,
    "ls": cmd_ls,
    "fetch": cmd_fetch,
}
