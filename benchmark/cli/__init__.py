"""The command line: one module per subcommand, each with `add_parser(sub)` and `main(args)`.

    python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
    python -m benchmark run --grid lowdata --scale paper --dry-run
    python -m benchmark run --method finetune,prefix --train-size 50 --scale smoke --set train.max_steps=2
    python -m benchmark plot                      # results/*.csv -> figures/
    python -m benchmark tables                    # results/*.csv -> tables/ and the README block
    python -m benchmark ls                        # methods, models, datasets, grids
    python -m benchmark fetch e2e --dest data/    # the original E2E release (needs a network)

Building the parser imports no torch (subcommands import what they need when they run), so
``--help``, ``ls``, ``plot`` and ``tables`` start in well under two seconds.
"""

from __future__ import annotations

import argparse
import logging
import sys

from benchmark import __version__
from benchmark.cli import (
    claims,
    decode,
    fetch,
    ls,
    params,
    plot,
    run,
    speed,
    status,
    tables,
    verify,
)
from benchmark.errors import BenchmarkError

SUBCOMMANDS = (run, status, verify, decode, plot, tables, claims, speed, params, ls, fetch)

EPILOG = """\
examples:
  python -m benchmark run --grid lowdata --scale quick --data-dir ../shared/data
      Figure 3 (E2E) on the embedded SmolLM2-135M, 16-21 min on 2 CPU cores
  python -m benchmark run --grid lowdata --scale paper --dry-run
      list the paper-scale runs (4 sizes x 5 subsets x 2 seeds x 2 methods) and which are done
  python -m benchmark run --grid table2 --set train.max_steps=10 --set eval.limit=20
      a shorter version of a grid (recorded in each row and its config hash)
  python -m benchmark status
      what is done, running, failed and pending in each grid
  python -m benchmark verify --grid lowdata
      rerun the committed runs in a scratch folder and compare outputs and metrics
  python -m benchmark plot
      redraw figures/ from results/*.csv (no torch needed)
  python -m benchmark tables
      the paper's tables with ours beside them, in tables/ (Markdown + LaTeX)
  python -m benchmark ls grids
      every grid and the paper table or figure it reproduces
  python -m benchmark speed --quick
      our training step and decoder against PEFT, the plain transformers loop and generate

The data directory comes from --data-dir or the BENCHMARK_DATA_DIR environment variable; it must
hold e2e/trainset.csv, e2e/devset.csv and e2e/testset_w_refs.csv (get them with `fetch e2e`).
Finished runs are skipped, so an interrupted grid resumes where it stopped. Runs keep the memory
their steps free in glibc's heap (fewer page faults, the same numbers); BENCHMARK_MALLOC=default
leaves the C allocator as it is.
DART's model-based metrics are computed only from local files, never downloaded: BERTScore from
roberta-large in the Hugging Face cache (`hf download roberta-large`) or BENCHMARK_BERTSCORE_MODEL=<dir>
(BENCHMARK_BERTSCORE_LAYER, default 17); MoverScore from distilbert-base-uncased or
BENCHMARK_MOVERSCORE_MODEL=<dir> (needs pyemd: pip install -e ".[dart]"); BLEURT through the bleurt
package and its test_checkpoint, or BENCHMARK_BLEURT_CHECKPOINT=<dir>.
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmark",
        description="Reproducibility benchmark suite for Prefix-Tuning (Li & Liang, ACL 2021).",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in SUBCOMMANDS:
        module.add_parser(sub, EPILOG).set_defaults(handler=module.main)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        return args.handler(args, parser)
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(
            "interrupted: finished runs are saved; the current one will rerun next time",
            file=sys.stderr,
        )
        return 130
    except (BenchmarkError, ValueError, FileNotFoundError) as err:  # one line a user can act on
        if args.verbose:
            raise
        print(f"error: {err}", file=sys.stderr)
        return 2
