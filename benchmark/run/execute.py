"""One run, end to end, as one linear recipe:

    load data -> sample the training set -> method.build(model) -> train -> finalize (eject/merge)
    -> decode -> score -> write outputs -> return the results row

The row is appended by the caller (`grid.py`) after the outputs are in place, so an interrupted run
leaves no partial row and is simply run again. `redecode` reuses the same steps from a finished
run's stored parameters (no training), which is how committed runs are checked against files.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from safetensors.torch import load_file, save_file

from benchmark.data import DATASETS
from benchmark.data.sampling import training_data
from benchmark.decode import DecodeResult, decode
from benchmark.methods import METHODS
from benchmark.methods.base import AdaptedLM, count_parameters
from benchmark.models import LoadedModel, load_model
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

    # outputs go to a scratch dir renamed into place, so a killed run leaves nothing half-written
    final = outputs_dir(results_dir, spec)
    scratch = final.with_name(final.name + ".partial")
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    (scratch / "hypotheses.txt").write_text("\n".join(decoded.outputs) + "\n", encoding="utf-8")
    (scratch / "sources.txt").write_text(
        "\n".join(ex.source for ex in evaluation) + "\n", encoding="utf-8"
    )
    references = [list(ex.references) for ex in evaluation]
    dataset.write_references(scratch / "references.txt", references)
    if stored_params <= STORE_LIMIT:  # full fine-tunes are not kept
        save_file({k: v.contiguous() for k, v in stored.items()}, scratch / "trained.safetensors")
    run_info = {
        "spec": spec.resolved(),
        "train_indices": data.train_indices,
        "dev_indices": data.dev_indices,
        "losses": result.losses,
        "dev_losses": result.dev_losses,
    }
    (scratch / "run.json").write_text(json.dumps(run_info, indent=1, default=str), encoding="utf-8")
    shutil.rmtree(final, ignore_errors=True)  # only a crashed earlier attempt of this same config
    scratch.rename(final)
    row.update(
        status="ok", error="", outputs_dir=str(final.relative_to(results_dir)), finished_at=now()
    )
    return row


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
    spec = spec_from_dict(json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["spec"])
    evaluation = evaluation_examples(spec, data_dir)
    loaded = load_model(spec.model)
    adapted = build_method(spec, loaded)
    adapted.load_stored_state(load_file(weights))
    if progress is None:
        progress = sys.stderr.isatty()
    decoded, scores = decode_and_score(spec, adapted, loaded, evaluation, data_dir, progress)
    recorded = (run_dir / "hypotheses.txt").read_text(encoding="utf-8").splitlines()
    same = sum(a == b for a, b in zip(decoded.outputs, recorded))
    return {"run_id": spec.run_id, **scores, "same_outputs": same, "outputs": len(decoded.outputs)}
