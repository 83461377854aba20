"""Running grids resumably and recording one results row per run.

A run: load data -> sample the low-data subset -> method.wrap(model) -> train -> finalize (eject)
-> decode -> score -> write outputs -> append the row. The row is written last and atomically, so
an interrupted run leaves no partial row and is simply run again next time; finished runs (same
run id, scale, model and config hash, status ok) are skipped.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import save_file

from benchmark.data.lowdata import LowDataSubset, sample_lowdata, take_fraction
from benchmark.decode import decode
from benchmark.grids import RunSpec
from benchmark.methods import count_parameters
from benchmark.models import load_model
from benchmark.registry import DATASETS, METHODS
from benchmark.train import TrainingDiverged, seed_everything, train

log = logging.getLogger(__name__)

COLUMNS = [
    "run_id", "config_hash", "grid", "scale", "dataset", "dataset_version", "data_sha256",
    "eval_split", "eval_size", "method", "variant", "method_config", "model", "model_source",
    "train_size", "train_fraction", "train_pairs", "subset", "seed", "lm_params", "trainable_params", "trainable_pct",
    "stored_params", "stored_pct", "bleu", "nist", "meteor", "rouge_l", "cider",
    "empty_outputs", "steps", "best_step", "best_dev_loss", "train_seconds", "decode_seconds",
    "train_config", "decode_config", "scorer", "status", "error", "outputs_dir", "finished_at",
    "versions", "git_sha",
]  # fmt: skip

PACKAGES = ("torch", "transformers", "sacrebleu", "pycocoevalcap", "rouge-score", "numpy", "gguf")


def results_path(results_dir: Path, grid: str) -> Path:
    return results_dir / f"{grid}.csv"


def read_rows(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


SUPERSEDED = "superseded"


def mark_superseded(rows: list[dict[str, str]], row: dict[str, Any]) -> None:
    """A finished run redone under another config (its recipe changed) overwrote the outputs
    directory of the earlier row: keep that row's numbers but mark it, so reports count only the
    run's newest result."""
    if row.get("status") != "ok":
        return
    for old in rows:
        same_run = all(old.get(k) == str(row.get(k)) for k in ("run_id", "scale", "model"))
        if same_run and old.get("status") == "ok" and old.get("config_hash") != row["config_hash"]:
            old["status"] = SUPERSEDED
            old["error"] = f"redone as config {row['config_hash']}; outputs directory overwritten"


def stale_rows(rows: list[dict[str, str]], specs: list[RunSpec]) -> list[dict[str, str]]:
    """Finished rows of this grid, scale and model whose run the grid no longer has.

    A recipe change that renames runs (e.g. a quick pool of 1,000 pairs cut to 500 turns
    `n=1000` runs into `n=500` ones) leaves the old rows `ok`; reports would then average both
    recipes at each point. `specs` must be the grid's complete run list for one scale and model.
    """
    if not specs:
        return []
    grid, scale, model = specs[0].grid, specs[0].scale, specs[0].model
    current = {spec.run_id for spec in specs}
    return [
        row
        for row in rows
        if (row.get("grid"), row.get("scale"), row.get("model")) == (grid, scale, model)
        and row.get("status") == "ok"
        and row.get("run_id") not in current
    ]


def retire_stale_rows(path: Path, specs: list[RunSpec]) -> int:
    """Mark `stale_rows` superseded in the CSV (numbers and outputs kept); return how many."""
    rows = read_rows(path)
    stale = stale_rows(rows, specs)
    for row in stale:
        row["status"] = SUPERSEDED
        row["error"] = (
            f"no longer in the {row['scale']} recipe of grid {row['grid']} (recipe changed); "
            "numbers and outputs kept"
        )
    if stale:
        write_rows(path, rows)
    return len(stale)


def append_row(path: Path, row: dict[str, Any]) -> None:
    """Rewrite the CSV with the new row through a temporary file and an atomic rename."""
    rows = read_rows(path)
    mark_superseded(rows, row)
    write_rows(path, [*rows, {k: _cell(v) for k, v in row.items()}])


def write_rows(path: Path, rows: list[dict[str, Any]]) -> None:
    """Write every row through a temporary file and an atomic rename (no half-written CSV)."""
    columns = list(COLUMNS)
    for existing in rows:
        columns += [c for c in existing if c not in columns]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return f"{value:.6g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.4f}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, sort_keys=True, default=str)
    return "" if value is None else value


def is_done(rows: list[dict[str, str]], spec: RunSpec) -> bool:
    return any(
        r.get("run_id") == spec.run_id
        and r.get("scale") == spec.scale
        and r.get("model") == spec.model
        and r.get("config_hash") == spec.config_hash
        and r.get("status") == "ok"
        for r in rows
    )


def package_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def git_sha() -> str:
    root = Path(__file__).resolve().parent.parent
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return sha + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


FULL_DATA_DEV_PAIRS = 500  # dev pairs scored for checkpoint selection in full-data runs (cost cap)


def full_data(train_pairs: list, dev_pairs: list) -> LowDataSubset:
    """The whole training split, and a fixed sample of the dev split for checkpoint selection."""
    rng = np.random.default_rng(0)
    count = min(FULL_DATA_DEV_PAIRS, len(dev_pairs))
    dev_indices = tuple(int(i) for i in rng.choice(len(dev_pairs), count, replace=False))
    return LowDataSubset(
        train=list(train_pairs),
        dev=[dev_pairs[i] for i in dev_indices],
        train_indices=(),  # all of them, in file order
        dev_indices=dev_indices,
        train_size=len(train_pairs),
        subset=0,
    )


def outputs_dir(results_dir: Path, spec: RunSpec) -> Path:
    return results_dir / "runs" / spec.grid / spec.scale / spec.model / spec.run_id


def execute(spec: RunSpec, data_dir: Path, results_dir: Path, progress: bool) -> dict[str, Any]:
    """Run one spec end to end and return its results row (status ok or failed)."""
    dataset = DATASETS.get(spec.dataset)
    method = METHODS.get(spec.method)
    method_config = method.make_config(spec.method_options)
    row: dict[str, Any] = {
        "run_id": spec.run_id,
        "config_hash": spec.config_hash,
        "grid": spec.grid,
        "scale": spec.scale,
        "dataset": spec.dataset,
        "dataset_version": dataset.version,
        "data_sha256": {
            s: dataset.content_hash(data_dir, s) for s in ("train", "dev", spec.eval_split)
        },
        "eval_split": spec.eval_split,
        "method": spec.method,
        "variant": spec.label,
        "model": spec.model,
        "train_size": spec.train_size,
        "train_fraction": spec.train_fraction,
        "subset": spec.subset,
        "seed": spec.seed,
        "train_config": spec.train.__dict__,
        "decode_config": spec.decode.__dict__,
        "versions": package_versions(),
        "git_sha": git_sha(),
    }

    train_pairs = dataset.load_pairs(data_dir, dataset.train_split)
    dev_pairs = dataset.load_pairs(data_dir, dataset.dev_split)
    if spec.train_size:
        subset = sample_lowdata(train_pairs, dev_pairs, spec.train_size, spec.subset)
    else:
        subset = full_data(train_pairs, dev_pairs)
    if spec.train_fraction is not None:
        subset = take_fraction(subset, spec.train_fraction)
    train_config = spec.train.for_training_set(len(subset.train))
    row["train_pairs"] = len(subset.train)
    evaluation = dataset.limit_eval(
        data_dir, dataset.load(data_dir, spec.eval_split), spec.eval_limit
    )
    row["eval_size"] = len(evaluation)

    loaded = load_model(spec.model)
    row["model_source"] = loaded.provenance
    seed_everything(spec.seed)  # the method's own parameters are drawn from this seed
    adapted = method.build(loaded, method_config)
    lm_params = loaded.num_parameters
    trainable = count_parameters(adapted.trainable_parameters())
    row.update(
        lm_params=lm_params, trainable_params=trainable, trainable_pct=100 * trainable / lm_params
    )
    try:
        result = train(adapted, loaded, subset.train, subset.dev, train_config, progress=progress)
    except TrainingDiverged as err:
        row.update(status="failed", error=str(err), finished_at=_now())
        return row
    row.update(
        steps=result.steps,
        best_step=result.best_step,
        best_dev_loss=result.best_dev_loss,
        train_seconds=result.train_seconds,
    )
    adapted.finalize()
    stored = adapted.stored_state()
    stored_params = count_parameters(stored.values())
    row.update(stored_params=stored_params, stored_pct=100 * stored_params / lm_params)
    row["method_config"] = {
        "method": spec.method,
        **method_config.__dict__,
        **adapted.method_info(),
    }

    sources = [ex.source for ex in evaluation]
    decoded = decode(adapted, loaded, sources, spec.decode, progress, spec.train.max_source_tokens)
    references = [list(ex.references) for ex in evaluation]
    scores = dataset.score(decoded.outputs, references, data_dir, spec.eval_split)
    row.update({name: scores.get(name, "not computed") for name in dataset.metrics})
    row.update(
        empty_outputs=decoded.empty,
        decode_seconds=decoded.seconds,
        scorer=dataset.scorer_provenance(),
    )

    # outputs go to a scratch dir renamed into place, so a killed run leaves nothing half-written
    final = outputs_dir(results_dir, spec)
    scratch = final.with_name(final.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    (scratch / "hypotheses.txt").write_text("\n".join(decoded.outputs) + "\n", encoding="utf-8")
    (scratch / "sources.txt").write_text(
        "\n".join(ex.source for ex in evaluation) + "\n", encoding="utf-8"
    )
    dataset.write_references(scratch / "references.txt", references)
    if (
        stored_params <= 50_000_000
    ):  # prefixes are kilobytes; full fine-tunes are not kept by default
        save_file({k: v.contiguous() for k, v in stored.items()}, scratch / "trained.safetensors")
    run_info = {
        "spec": spec.resolved(),
        "train_indices": subset.train_indices,
        "dev_indices": subset.dev_indices,
        "losses": result.losses,
        "dev_losses": result.dev_losses,
    }
    (scratch / "run.json").write_text(json.dumps(run_info, indent=1, default=str), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)
    scratch.rename(final)
    row.update(
        status="ok", error="", outputs_dir=str(final.relative_to(results_dir)), finished_at=_now()
    )
    return row


def spec_from_dict(resolved: dict[str, Any]) -> RunSpec:
    """Inverse of `RunSpec.resolved()` (as stored in a run's run.json)."""
    from benchmark.decode import DecodeConfig
    from benchmark.train import TrainConfig

    return RunSpec(
        **{
            **resolved,
            "train": TrainConfig(**resolved["train"]),
            "decode": DecodeConfig(**resolved["decode"]),
        }
    )


def redecode(run_dir: Path, data_dir: Path, progress: bool | None = None) -> dict[str, Any]:
    """Decode a finished run again from its stored parameters (no training) and score it.

    Returns the metrics and how many outputs equal the run's recorded hypotheses.
    """
    from safetensors.torch import load_file

    weights = run_dir / "trained.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{weights} not found: runs store their parameters when they are at most 50M numbers "
            "(prefixes, adapters); full fine-tunes are not kept"
        )
    spec = spec_from_dict(json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["spec"])
    dataset = DATASETS.get(spec.dataset)
    method = METHODS.get(spec.method)
    evaluation = dataset.limit_eval(
        data_dir, dataset.load(data_dir, spec.eval_split), spec.eval_limit
    )
    loaded = load_model(spec.model)
    seed_everything(spec.seed)
    adapted = method.build(loaded, method.make_config(spec.method_options))
    adapted.load_stored_state(load_file(weights))
    if progress is None:
        progress = sys.stderr.isatty()
    sources = [ex.source for ex in evaluation]
    decoded = decode(adapted, loaded, sources, spec.decode, progress, spec.train.max_source_tokens)
    references = [list(ex.references) for ex in evaluation]
    scores = dataset.score(decoded.outputs, references, data_dir, spec.eval_split)
    recorded = (run_dir / "hypotheses.txt").read_text(encoding="utf-8").splitlines()
    same = sum(a == b for a, b in zip(decoded.outputs, recorded))
    return {"run_id": spec.run_id, **scores, "same_outputs": same, "outputs": len(decoded.outputs)}


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def run_specs(
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    dry_run: bool = False,
    progress: bool | None = None,
    complete_grid: bool = False,
) -> int:
    """Run every spec not yet done; return the number of failed runs. Dry-run only lists them.

    `complete_grid`: `specs` is a named grid's whole run list for its scale and model (no option
    changed), so finished rows of runs it no longer has are marked superseded first.
    """
    if progress is None:
        progress = sys.stderr.isatty()
    if not specs:
        print("no runs selected")
        return 0
    grid = specs[0].grid
    path = results_path(results_dir, grid)
    rows = read_rows(path)
    todo = [s for s in specs if not is_done(rows, s)]
    print(f"{grid}: {len(specs)} runs, {len(specs) - len(todo)} done, {len(todo)} to run -> {path}")
    stale = stale_rows(rows, specs) if complete_grid else []
    if dry_run:
        for s in specs:
            state = "done" if s not in todo else "todo"
            print(f"  [{state}] {s.scale:5s} {s.model:14s} {s.run_id}  ({s.config_hash})")
        for row in stale:
            print(
                f"  [stale] {row['scale']:5s} {row['model']:14s} {row['run_id']}  (not in the grid "
                "any more; a real run marks it superseded)"
            )
        return 0
    if stale:
        retire_stale_rows(path, specs)
        print(
            f"{grid}: marked {len(stale)} finished row(s) superseded: their runs are no longer in "
            f"the {specs[0].scale} recipe (numbers and outputs kept)"
        )
    torch.set_num_threads(max(1, torch.get_num_threads()))
    failed = 0
    started = time.perf_counter()
    for i, spec in enumerate(todo, 1):
        elapsed = time.perf_counter() - started
        eta = "" if i == 1 else f", ETA {_fmt(elapsed / (i - 1) * (len(todo) - i + 1))}"
        print(f"[{i}/{len(todo)}] {spec.scale} {spec.model} {spec.run_id}{eta}", flush=True)
        row = execute(spec, data_dir, results_dir, progress)
        append_row(path, row)
        if row["status"] != "ok":
            failed += 1
            print(f"  failed: {row['error']}", file=sys.stderr, flush=True)
        else:
            metrics = DATASETS.get(spec.dataset).metrics
            shown = "  ".join(f"{m} {_short(row.get(m))}" for m in metrics)
            print(
                f"  {shown}  train {_fmt(row['train_seconds'])}  "
                f"decode {_fmt(row['decode_seconds'])}",
                flush=True,
            )
    print(
        f"{grid}: finished {len(todo) - failed} run(s), {failed} failed, in {_fmt(time.perf_counter() - started)}"
    )
    return failed


def _short(value: Any) -> str:
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def _fmt(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"
