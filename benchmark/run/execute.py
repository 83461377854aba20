"""One run, end to end, as one linear recipe:

    load data -> sample the training set -> method.build(model) -> train -> finalize (eject/merge)
    -> decode -> score -> write outputs -> return the results row

The row is appended by the caller (`grid.py`) after the outputs are in place, so an interrupted run
leaves no partial row and is simply run again. `redecode` reuses the same steps from a finished
run's stored parameters (no training), which is how committed runs are checked against files.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from benchmark.data import DATASETS
from benchmark.data.sampling import training_data
from benchmark.decode import DecodeResult, decode
from benchmark.errors import ResultsError
from benchmark.lm import device_label, keep_freed_memory, resolve_device
from benchmark.methods import METHODS
from benchmark.methods.base import AdaptedLM, count_parameters
from benchmark.models import LoadedModel, load_model
from benchmark.report.convergence import convergence
from benchmark.run.provenance import git_sha, now, package_versions
from benchmark.run.store import outputs_dir
from benchmark.spec import RunSpec, spec_from_dict
from benchmark.train import TrainingDiverged, seed_everything, train

STORE_LIMIT = (
    50_000_000  # parameters stored when at most this many (prefixes, adapters, low-rank factors)
)


def evaluation_examples(spec: RunSpec, data_dir: Path) -> list:
    """The eval split's inputs that this run scores (all, or `eval_limit` of them)."""
    dataset = DATASETS.get(spec.dataset)
    return dataset.limit_eval(data_dir, dataset.load(data_dir, spec.eval_split), spec.eval_limit)


def build_method(spec: RunSpec, loaded: LoadedModel) -> AdaptedLM:
    """The run's method on `loaded`, its own parameters drawn from the run's seed."""
    method = METHODS.get(spec.method)
    seed_everything(spec.seed)
    return method.build(loaded, method.make_config(spec.method_options))


def decode_and_score(
    spec: RunSpec,
    adapted: AdaptedLM,
    loaded: LoadedModel,
    evaluation: list,
    data_dir: Path,
    progress: bool,
) -> tuple[DecodeResult, dict[str, Any]]:
    dataset = DATASETS.get(spec.dataset)
    sources = [ex.source for ex in evaluation]
    decoded = decode(adapted, loaded, sources, spec.decode, progress, spec.train.max_source_tokens)
    references = [list(ex.references) for ex in evaluation]
    return decoded, dataset.score(decoded.outputs, references, data_dir, spec.eval_split)


def execute(
    spec: RunSpec, data_dir: Path, results_dir: Path, progress: bool, device: str = "cpu"
) -> dict[str, Any]:
    """Run one spec end to end on `device` (cpu, cuda or auto) and return its results row
    (status ok or failed)."""
    where = resolve_device(device)
    keep_freed_memory()  # the steps reuse freed memory rather than fault in fresh pages
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

    data = training_data(
        dataset.load_pairs(data_dir, dataset.train_split),
        dataset.load_pairs(data_dir, dataset.dev_split),
        spec.train_size,
        spec.subset,
        spec.train_fraction,
    )
    train_config = spec.train.for_training_set(len(data.train))
    row["train_pairs"] = len(data.train)
    evaluation = evaluation_examples(spec, data_dir)
    row["eval_size"] = len(evaluation)

    loaded = load_model(spec.model)
    row["model_source"] = loaded.provenance
    adapted = build_method(spec, loaded)
    if where.type != "cpu":
        loaded.model.to(where)
        adapted.to(where)
    row["device"] = device_label(where)
    lm_params = loaded.num_parameters
    trainable = count_parameters(adapted.trainable_parameters())
    row.update(
        lm_params=lm_params, trainable_params=trainable, trainable_pct=100 * trainable / lm_params
    )
    try:
        result = train(adapted, loaded, data.train, data.dev, train_config, progress=progress)
    except TrainingDiverged as err:
        row.update(status="failed", error=str(err), finished_at=now())
        return row
    row.update(
        steps=result.steps,
        best_step=result.best_step,
        best_dev_loss=result.best_dev_loss,
        train_seconds=result.train_seconds,
        **convergence(result.dev_losses, result.steps, result.best_step).cells(),
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

    decoded, scores = decode_and_score(spec, adapted, loaded, evaluation, data_dir, progress)
    row.update({name: scores.get(name, "not computed") for name in dataset.metrics})
    row.update(
        empty_outputs=decoded.empty,
        decode_seconds=decoded.seconds,
        scorer=dataset.scorer_provenance(),
    )

    references = [list(ex.references) for ex in evaluation]
    run_info = {
        "spec": spec.resolved(),
        "train_indices": data.train_indices,
        "dev_indices": data.dev_indices,
        "losses": result.losses,
        "dev_losses": result.dev_losses,
    }
    final = outputs_dir(results_dir, spec)
    with writing(final) as scratch:
        (scratch / "hypotheses.txt").write_text("\n".join(decoded.outputs) + "\n", encoding="utf-8")
        (scratch / "sources.txt").write_text(
            "\n".join(ex.source for ex in evaluation) + "\n", encoding="utf-8"
        )
        dataset.write_references(scratch / "references.txt", references)
        checksums = {"hypotheses.txt": sha256_of(scratch / "hypotheses.txt")}
        if stored_params <= STORE_LIMIT:  # full fine-tunes are not kept
            weights = scratch / "trained.safetensors"
            save_file({k: v.detach().cpu().contiguous() for k, v in stored.items()}, weights)
            checksums[weights.name] = sha256_of(weights)
        run_info["sha256"] = checksums
        (scratch / "run.json").write_text(
            json.dumps(run_info, indent=1, default=str), encoding="utf-8"
        )
    row.update(
        status="ok", error="", outputs_dir=str(final.relative_to(results_dir)), finished_at=now()
    )
    return row


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def writing(final: Path) -> Iterator[Path]:
    """A scratch folder of this process's own, renamed to `final` when the block ends: a killed
    run leaves nothing half-written, a failed write (full or read-only disk) leaves no scratch
    folder and is one error naming the path. The caller holds the run's claim, so scratch
    folders of `final` left by earlier attempts are dead and removed."""
    for old in final.parent.glob(final.name + ".partial*"):
        shutil.rmtree(old, ignore_errors=True)
    scratch = final.with_name(f"{final.name}.partial-{os.getpid()}")
    try:
        scratch.mkdir(parents=True)
        yield scratch
        shutil.rmtree(final, ignore_errors=True)  # only a crashed earlier attempt of this config
        scratch.rename(final)
    except OSError as err:
        shutil.rmtree(scratch, ignore_errors=True)
        where = err.filename or scratch
        raise ResultsError(
            f"cannot write the run's outputs to {where}: {err.strerror or err}"
        ) from err


def read_run_info(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "run.json"
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        info["spec"]  # noqa: B018 (a run.json without its spec is damaged)
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ResultsError(
            f"{path} is missing or damaged ({err}); is {run_dir} a run folder?"
        ) from err
    return info


def check_stored_files(run_dir: Path, info: dict[str, Any]) -> None:
    """Each file whose sha256 the run recorded still has it (runs before checksums: none)."""
    for name, expected in info.get("sha256", {}).items():
        path = run_dir / name
        if not path.is_file():
            raise ResultsError(
                f"{path} is missing; its run recorded it (sha256 {expected[:12]}...)"
            )
        if sha256_of(path) != expected:
            raise ResultsError(
                f"{path} does not match the sha256 its run recorded ({expected[:12]}...): the "
                "file was changed or damaged after the run; restore it (git checkout) or rerun"
            )


def redecode(run_dir: Path, data_dir: Path, progress: bool | None = None) -> dict[str, Any]:
    """Decode a finished run again from its stored parameters (no training) and score it.

    Returns the metrics and how many outputs equal the run's recorded hypotheses.
    """
    weights = run_dir / "trained.safetensors"
    if not weights.is_file():
        raise FileNotFoundError(
            f"{weights} not found: runs store their parameters when they are at most "
            f"{STORE_LIMIT // 1_000_000}M numbers (prefixes, adapters, low-rank factors); full fine-tunes "
            "are not kept"
        )
    info = read_run_info(run_dir)
    spec = spec_from_dict(info["spec"])
    check_stored_files(run_dir, info)
    evaluation = evaluation_examples(spec, data_dir)
    keep_freed_memory()
    loaded = load_model(spec.model)
    adapted = build_method(spec, loaded)
    try:
        state = load_file(weights)
    except Exception as err:  # safetensors raises its own error types for a damaged header
        raise ResultsError(f"{weights} is not a readable safetensors file: {err}") from err
    adapted.load_stored_state(state)
    if progress is None:
        progress = sys.stderr.isatty()
    decoded, scores = decode_and_score(spec, adapted, loaded, evaluation, data_dir, progress)
    recorded = (run_dir / "hypotheses.txt").read_text(encoding="utf-8").splitlines()
    same = sum(a == b for a, b in zip(decoded.outputs, recorded))
    checked = "verified" if info.get("sha256") else "none recorded (a run from before checksums)"
    return {
        "run_id": spec.run_id,
        **scores,
        "same_outputs": same,
        "outputs": len(decoded.outputs),
        "checksums": checked,
    }
