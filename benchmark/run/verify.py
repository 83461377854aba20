"""The project's reproducibility check: rerun committed runs into a scratch folder and compare,
run by run, their outputs and metrics with the committed ones."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmark.run.store import is_done, read_rows, results_path
from benchmark.spec import RunSpec


@dataclass(frozen=True)
class Comparison:
    run_id: str
    identical: bool
    detail: str  # "identical", or which metrics and how many outputs differ


def committed_specs(specs: list[RunSpec], committed: Path) -> list[RunSpec]:
    """The runs of `specs` that have a finished row in the `committed` results folder."""
    rows = read_rows(results_path(committed, specs[0].grid)) if specs else []
    return [spec for spec in specs if is_done(rows, spec)]


def _finished_row(rows: list[dict[str, str]], spec: RunSpec) -> dict[str, str]:
    return next(
        r
        for r in reversed(rows)
        if r.get("run_id") == spec.run_id
        and r.get("config_hash") == spec.config_hash
        and r.get("model") == spec.model
        and r.get("status") == "ok"
    )


def compare(
    specs: list[RunSpec], metrics: dict[str, tuple[str, ...]], committed: Path, fresh: Path
) -> list[Comparison]:
    """For each spec (done in both folders): equal metric cells and equal outputs, line by line.
    `metrics` maps a dataset to its metric columns."""
    old_rows = read_rows(results_path(committed, specs[0].grid))
    new_rows = read_rows(results_path(fresh, specs[0].grid))
    out = []
    for spec in specs:
        if not is_done(new_rows, spec):
            out.append(Comparison(spec.run_id, False, "the rerun did not finish"))
            continue
        old, new = _finished_row(old_rows, spec), _finished_row(new_rows, spec)
        differ = [
            f"{m} {old.get(m)} -> {new.get(m)}"
            for m in metrics[spec.dataset]
            if old.get(m) != new.get(m)
        ]
        before = (committed / old["outputs_dir"] / "hypotheses.txt").read_text().splitlines()
        after = (fresh / new["outputs_dir"] / "hypotheses.txt").read_text().splitlines()
        same = sum(a == b for a, b in zip(before, after))
        if len(before) != len(after) or same != len(before):
            differ.append(f"{same}/{len(before)} outputs equal")
        detail = "; ".join(differ) or f"identical ({len(before)} outputs, every metric)"
        out.append(Comparison(spec.run_id, not differ, detail))
    return out
