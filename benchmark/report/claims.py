"""The paper's claims, decided on our runs: a scorecard with 95% intervals.

    python -m benchmark claims [--scale quick] [--model M] [--results-dir D] [--out DIR]

One row per claim of `benchmark.paper.CLAIM_LIST` (its grid, metric, the two groups and the
direction are defined there, once). Ours is mean(a) - mean(b) with a 95% interval:

- paired bootstrap over the units both groups ran (`Claim.pair_by`: the dataset, the training
  subset and seed, and the training size or fraction where a claim pools them), when at least two
  units are shared; a group's several runs at one unit (INFIX-1/10/20) are averaged first;
- otherwise an unpaired bootstrap over each group's units;
- percentile interval, `stats.RESAMPLES` resamples, fixed seed (`benchmark.report.stats`).

Verdicts: greater (less): an interval entirely above (below) 0 reproduces the claim, entirely on
the other side contradicts it; comparable within m: an interval inside [-m, m] reproduces it, one
entirely outside contradicts it; anything else is inconclusive, and so is a claim with fewer than
two units on a side (no interval). A claim none of whose runs of one side exist is "not run".
Runs that had not converged (`benchmark.report.convergence`) are left out and counted; runs whose
convergence is unknown (fewer than two dev checks) are kept and counted apart.

For an inconclusive claim, "what would decide it": the units needed for the interval's half-width
1.96 * sd / sqrt(n) to clear 0 (or the margin) at the observed mean and spread, and their wall
time from the mean train + decode seconds of the claim's runs here, and on one GPU assuming
`GPU_SPEEDUP` (an assumption, not a measurement). Reads CSVs and run.json files; no torch.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.errors import ReportError
from benchmark.paper import CLAIM_LIST, DEFAULT_PAPER_VERSION, Claim, paper_effect
from benchmark.progress import duration
from benchmark.report import latest_finished
from benchmark.report.convergence import CONVERGED_BELOW, add_convergence
from benchmark.report.stats import METHOD, paired_bootstrap, unpaired_bootstrap
from benchmark.report.tables import tex_escape

# One GPU (e.g. an A100 or H100) against the 2-core CPU the quick runs were timed on, for a
# ~135M-parameter model at these batch sizes: an assumption stated in every estimate, not a
# measurement on this suite
GPU_SPEEDUP = 30.0
Z95 = 1.96  # the normal 97.5% quantile: the half-width of a 95% interval in sds of the mean
VERDICTS = ("reproduced", "contradicted", "inconclusive", "not run")
README_BEGIN = "<!-- claims:begin -->"
README_END = "<!-- claims:end -->"
# our metric columns as printed
METRIC_NAMES = {
    "bleu": "BLEU",
    "bleu_all": "BLEU",
    "bleu_unseen": "BLEU",
    "bleu_seen": "BLEU",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "rouge_l": "ROUGE-L",
}
DATASET_NAMES = {
    "e2e": "E2E",
    "webnlg": "WebNLG",
    "dart": "DART",
    "xsum": "XSUM",
    "xsum-news2sports": "news-to-sports",
    "xsum-withinnews": "within-news",
}


@dataclass
class Decision:
    """A claim decided on one model's runs at one scale."""

    claim: Claim
    verdict: str
    paper: str  # the paper's effect, as printed
    estimate: float | None = None  # ours: mean(a) - mean(b)
    interval: tuple[float, float] | None = None
    paired: bool = False
    units: tuple[int, int, int] = (0, 0, 0)  # (shared, a's, b's) units behind the estimate
    runs: tuple[int, int] = (0, 0)  # runs of a and b behind it
    left_out: int = 0  # runs that had not converged, not used
    unknown: int = 0  # runs with fewer than two dev checks, used
    why: str = ""  # why there is no interval, or what would decide it
    seconds: list[float] = field(default_factory=list)  # train + decode of the claim's runs
    scale: str = ""  # the scale its runs came from


# ---- from the results CSVs to each group's values per unit --------------------------------------


def _number(text: object) -> float:
    try:
        return float(str(text))
    except ValueError:
        return math.nan


def _same(cell: str, allowed: Iterable[str]) -> bool:
    """`cell` is one of `allowed`, as text or as a number ("0.4000" is "0.4")."""
    value = _number(cell)
    return any(cell == a or (not math.isnan(value) and value == _number(a)) for a in allowed)


def _unit_cell(cell: object) -> str:
    """A pairing cell in one spelling: numbers as %g ("0.4000" and "0.4" pair), text as it is."""
    value = _number(cell)
    return f"{value:g}" if not math.isnan(value) else str(cell).strip()


def scale_order(scale: str | tuple[str, ...]) -> tuple[str, ...]:
    """Scales in order of preference: "protocol,quick" -> ("protocol", "quick")."""
    if isinstance(scale, str):
        return tuple(s.strip() for s in scale.split(",") if s.strip())
    return tuple(scale)


def finished_by_scale(
    results_dir: Path, grid: str, scale: str | tuple[str, ...]
) -> list[pd.DataFrame]:
    """Finished rows of results/<grid>.csv, the newest per run, one table per scale of `scale`
    (one, or several in order of preference) that has any; `variant` filled from the method
    where a row has none. The CSV is read once."""
    path = results_dir / f"{grid}.csv"
    if not path.is_file():
        return []
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return []
    table = latest_finished(table)
    if table.empty:
        return []
    missing = [c for c in ("dataset", "method", "model", "scale") if c not in table.columns]
    if missing:
        raise ReportError(f"{path} lacks the column(s) {', '.join(missing)}")
    variant = table["variant"] if "variant" in table.columns else table["method"]
    table = table.assign(variant=variant.where(variant.str.strip() != "", table["method"]))
    at = table["scale"].str.strip()
    return [t for one in scale_order(scale) if not (t := table[at == one]).empty]


def _claim_rows(claim: Claim, runs: pd.DataFrame) -> pd.DataFrame:
    """The runs of either group on the claim's datasets, with `value` (its measure's column)
    and `group` ("a" / "b"); runs whose value is not a number are dropped."""
    if runs.empty:
        return runs
    columns = {m.dataset: m.column for m in claim.measures}
    rows = runs[runs["dataset"].isin(columns)]
    for column, allowed in claim.only:
        rows = rows[
            rows.get(column, pd.Series("", index=rows.index)).map(lambda c, a=allowed: _same(c, a))
        ]
    group = rows["variant"].map(
        lambda v: "a" if v in claim.a.variants else "b" if v in claim.b.variants else ""
    )
    rows = rows.assign(group=group)[group != ""]
    value = [_number(row.get(columns[row["dataset"]], "")) for _, row in rows.iterrows()]
    rows = rows.assign(value=value)
    return rows[rows["value"].notna()]


def _per_unit(rows: pd.DataFrame, pair_by: tuple[str, ...]) -> dict[tuple[str, ...], float]:
    """A group's value at each unit: the mean of its runs there."""
    keys = [
        tuple(_unit_cell(row.get(column, "")) for column in pair_by) for _, row in rows.iterrows()
    ]
    means: dict[tuple[str, ...], list[float]] = {}
    for key, value in zip(keys, rows["value"]):
        means.setdefault(key, []).append(float(value))
    return {key: float(np.mean(values)) for key, values in sorted(means.items())}


# ---- deciding ------------------------------------------------------------------------------------


# fewest units behind a decisive verdict: with 2-4 units the percentile interval covers far less
# than 95% (with 2 it is the span of the two differences), so it may show, but it decides nothing
MIN_UNITS = 5


def verdict(claim: Claim, low: float, high: float) -> str:
    """reproduced / contradicted / inconclusive for a 95% interval [low, high] of a - b."""
    if claim.direction == "comparable":
        margin = float(claim.margin or 0.0)
        if -margin <= low and high <= margin:
            return "reproduced"
        if high < -margin or low > margin:
            return "contradicted"
        return "inconclusive"
    sign = 1.0 if claim.direction == "greater" else -1.0
    low, high = sorted((sign * low, sign * high))
    if low > 0:
        return "reproduced"
    if high < 0:
        return "contradicted"
    return "inconclusive"


def _gap(claim: Claim, mean: float) -> float:
    """How far the observed mean is from the boundary the interval must clear."""
    if claim.direction == "comparable":
        return abs(float(claim.margin or 0.0) - abs(mean))
    return abs(mean)


def units_needed(claim: Claim, mean: float, variance: float) -> int | None:
    """Units n such that Z95 * sqrt(variance / n) clears the boundary at the observed mean (for
    an unpaired claim, n per group with variance = var(a) + var(b)); None if no n does."""
    gap = _gap(claim, mean)
    if gap == 0 or not math.isfinite(variance):
        return None
    return max(2, math.ceil(Z95**2 * variance / gap**2))


def _unit_name(claim: Claim) -> str:
    return "(" + ", ".join(c for c in claim.pair_by if c != "dataset") + ")"


def _cost(more_runs: float, seconds: list[float]) -> str:
    if not seconds:
        return ""
    here = more_runs * float(np.mean(seconds))
    return (
        f": ~{duration(here)} here, ~{duration(here / GPU_SPEEDUP)} on one GPU "
        f"(assuming {GPU_SPEEDUP:g}× this CPU)"
    )


def decide(
    claim: Claim,
    runs: pd.DataFrame,
    results_dir: Path,
    version: str = DEFAULT_PAPER_VERSION,
    scale: str = "quick",
    run_at: Mapping[str, str] | None = None,
) -> Decision:
    """Decide one claim on the finished runs of its grid (one model, one `scale`). `run_at`: per
    claim id, the scale whose grid runs both groups (the command a "not run" row gives); the last
    of `scale` where it names none."""
    decision = Decision(claim, "not run", paper_text(claim, version))
    if not runs.empty:
        decision.scale = ", ".join(sorted(set(runs["scale"].str.strip())))
    rows = _claim_rows(claim, runs)
    sides = {side: rows[rows["group"] == side] if not rows.empty else rows for side in "ab"}
    if any(side.empty for side in sides.values()):
        missing = [g.label for g, s in zip((claim.a, claim.b), "ab") if sides[s].empty]
        decision.why = (
            f"no run of {' and '.join(missing)} in {claim.grid}.csv: "
            f"`python -m benchmark run --grid {claim.grid} --scale "
            f"{(run_at or {}).get(claim.id, scale_order(scale)[-1])}`"
        )
        return decision
    rows = add_convergence(rows, results_dir)
    decision.seconds = [
        _number(row.get("train_seconds", "")) + _number(row.get("decode_seconds", ""))
        for _, row in rows.iterrows()
    ]
    decision.seconds = [s for s in decision.seconds if not math.isnan(s)]
    not_converged = rows["converged"].map(lambda c: c is False)  # None (unknown) is kept
    decision.left_out = int(not_converged.sum())
    decision.unknown = int(rows["converged"].map(lambda c: c is None).sum())
    # runs per unit of each side, before leaving any out: what one more unit costs
    per_unit = {
        side: len(part) / max(1, len(_per_unit(part, claim.pair_by)))
        for side, part in rows.groupby("group")
    }
    kept = rows[~not_converged]
    a_rows, b_rows = (kept[kept["group"] == side] for side in "ab")
    a, b = _per_unit(a_rows, claim.pair_by), _per_unit(b_rows, claim.pair_by)
    shared = sorted(set(a) & set(b))
    decision.units = (len(shared), len(a), len(b))
    decision.runs = (len(a_rows), len(b_rows))
    decision.verdict = "inconclusive"
    unit_runs = per_unit.get("a", 1.0) + per_unit.get("b", 1.0)
    if len(shared) >= 2:
        differences = [a[key] - b[key] for key in shared]
        mean, low, high = paired_bootstrap(differences)
        decision.paired = True
        variance, have = float(np.var(differences, ddof=1)), len(shared)
    elif min(len(a), len(b)) >= 2:
        mean, low, high = unpaired_bootstrap(list(a.values()), list(b.values()))
        variance = float(np.var(list(a.values()), ddof=1) + np.var(list(b.values()), ddof=1))
        have = min(len(a), len(b))
    else:
        if shared:
            decision.estimate = a[shared[0]] - b[shared[0]]
        more = 2 - len(shared)
        runs_more = math.ceil(more * unit_runs)
        stalled = [g.label for g, side in ((claim.a, a), (claim.b, b)) if not side]
        if stalled and decision.left_out:
            decision.why = (
                f"no interval: no converged run of {' and '.join(stalled)} (the dev loss was "
                f"still falling at the last check); runs trained to convergence, at least "
                f"{more} {_unit_name(claim)} unit(s) ({runs_more} runs)"
            )
        else:
            reason = "1 shared unit" if len(shared) == 1 else "fewer than 2 units on a side"
            decision.why = (
                f"no interval ({reason}): at least {more} more {_unit_name(claim)} unit(s) "
                f"({runs_more} runs) before the spread can be estimated"
            )
        decision.why += _cost(runs_more, decision.seconds)
        return decision
    decision.estimate, decision.interval = mean, (low, high)
    decision.verdict = verdict(claim, low, high)
    if decision.verdict != "inconclusive" and have < MIN_UNITS:
        # a percentile bootstrap over 2-4 units spans little more than the values themselves
        decision.verdict = "inconclusive"
        more = MIN_UNITS - have
        runs_more = math.ceil(more * unit_runs)
        decision.why = (
            f"the interval rests on {have} unit(s); a verdict needs at least {MIN_UNITS}: "
            f"{more} more {_unit_name(claim)} unit(s) ({runs_more} runs)"
            + _cost(runs_more, decision.seconds)
        )
        return decision
    if decision.verdict == "inconclusive":
        needed = units_needed(claim, mean, variance)
        if needed is None:
            decision.why = "the observed mean sits on the boundary: more runs would not decide it"
        else:
            more = max(1, needed - have)
            runs_more = math.ceil(more * unit_runs)
            decision.why = (
                f"~{more} more {_unit_name(claim)} unit(s) ({runs_more} runs) at the observed "
                f"spread" + _cost(runs_more, decision.seconds)
            )
        decision.why += _against_paper(claim, version, low, high)
    return decision


def _against_paper(claim: Claim, version: str, low: float, high: float) -> str:
    """Where an undecided interval excludes the paper's stated effect, say so: the direction is
    open, but an effect the paper's size is not what this model shows."""
    paper, _ = paper_effect(claim, version)
    if paper is None or claim.direction == "comparable" or low <= paper <= high:
        return ""
    where = "above" if paper > high else "below"
    return (
        f"; the paper's {paper:+.2f} lies {where} the interval [{low:+.2f}, {high:+.2f}]: an "
        f"effect of the paper's size is ruled out on these runs"
    )


def decide_all(
    results_dir: Path,
    scale: str = "quick",
    model: str | None = None,
    version: str = DEFAULT_PAPER_VERSION,
    run_at: Mapping[str, str] | None = None,
) -> list[tuple[str, list[Decision]]]:
    """Every claim, per model: `model`, or each model with runs at `scale` ("" when none has);
    `run_at` as in `decide`."""
    grids = {claim.grid for claim in CLAIM_LIST}
    runs = {grid: finished_by_scale(results_dir, grid, scale) for grid in sorted(grids)}
    if model:
        models = [model]
    else:
        found = {m for tables in runs.values() for table in tables for m in table["model"]}
        models = sorted(found) or [""]
    out = []
    for name in models:
        decisions = []
        for claim in CLAIM_LIST:
            tables = [t[t["model"] == name] for t in runs[claim.grid]]
            table = _scale_for(claim, [t for t in tables if not t.empty])
            decisions.append(decide(claim, table, results_dir, version, scale, run_at))
        out.append((name, decisions))
    return out


def _scale_for(claim: Claim, tables: list[pd.DataFrame]) -> pd.DataFrame:
    """Of one grid's runs per scale (in order of preference), the first scale where both of the
    claim's groups ran, else the first with runs: Figure 5's task words are compared with other
    words at `quick` although `protocol` ran only random and "table-to-text:"."""
    for table in tables:
        rows = _claim_rows(claim, table)
        if not rows.empty and set(rows["group"]) >= {"a", "b"}:
            return table
    return tables[0] if tables else pd.DataFrame()


# ---- printing ------------------------------------------------------------------------------------


def _metric(claim: Claim) -> str:
    names = {METRIC_NAMES.get(m.column, m.column) for m in claim.measures}
    return "/".join(sorted(names))


def paper_text(claim: Claim, version: str = DEFAULT_PAPER_VERSION) -> str:
    value, parts = paper_effect(claim, version)
    if value is None:
        return claim.effect_text or "no number published"
    metric = _metric(claim)
    if claim.stated:  # "Sec 6.3 text" -> "stated in §6.3"
        section = claim.stated.removeprefix("Sec ").removesuffix(" text")
        return f"{value:+.1f} {metric} (stated in §{section})"
    if len(parts) > 1:
        each = ", ".join(f"{DATASET_NAMES.get(d, d)} {v:+.1f}" for d, v in parts.items())
        return f"{value:+.2f} {metric} (mean of {each})"
    return f"{value:+.2f} {metric}"


def _direction(claim: Claim) -> str:
    if claim.direction == "comparable":
        return f"a ≈ b within ±{claim.margin:g}"
    return "a > b" if claim.direction == "greater" else "a < b"


def _row(decision: Decision) -> dict[str, str]:
    claim = decision.claim
    if decision.interval is not None:
        low, high = decision.interval
        ours = f"{decision.estimate:+.2f} [{low:+.2f}, {high:+.2f}]"
    elif decision.estimate is not None:
        ours = f"{decision.estimate:+.2f} (no interval)"
    else:
        ours = "–"
    shared, n_a, n_b = decision.units
    if decision.verdict == "not run":
        behind = "0"
    elif decision.paired:
        behind = f"{shared} pairs ({sum(decision.runs)} runs)"
    elif shared == 1 and n_a == n_b == 1:
        behind = f"1 pair ({sum(decision.runs)} runs)"
    else:
        behind = f"{n_a}/{n_b} units ({decision.runs[0]}/{decision.runs[1]} runs)"
    left_out = str(decision.left_out) + (
        f" (+{decision.unknown} unknown, kept)" if decision.unknown else ""
    )
    return {
        "claim": f"{claim.id} ({claim.where}): {claim.statement}",
        "a vs b": f"{claim.a.label} vs {claim.b.label}, {_direction(claim)}",
        "paper": decision.paper,
        "scale": decision.scale or "–",
        "ours [95% CI]": ours,
        "runs": behind,
        "non-converged left out": left_out,
        "verdict": decision.verdict,
        "what would decide it": decision.why if decision.verdict != "reproduced" else "",
    }


def frame(decisions: list[Decision]) -> pd.DataFrame:
    return pd.DataFrame([_row(decision) for decision in decisions])


def caption(model: str, scale: str, decisions: list[Decision]) -> str:
    counts = ", ".join(
        f"{sum(d.verdict == v for d in decisions)} {v}"
        for v in VERDICTS
        if any(d.verdict == v for d in decisions)
    )
    scales = " or ".join(scale_order(scale))
    ours = (
        f"{model}, each claim at the first scale of {scales} where both of its groups ran"
        if model
        else f"no runs at {scales} scale"
    )
    return (
        f"The paper's claims on our runs ({ours}; {counts}). Ours: mean(a) − mean(b) in the "
        "metric's units with a 95% interval, paired over the units both groups ran (dataset, "
        "training subset and seed, and size or fraction where a claim pools them; a group's "
        "runs at one unit averaged), unpaired over each group's units otherwise; "
        f"{METHOD}. Verdict: the interval entirely on the paper's side of 0 (or inside ±margin "
        "for 'comparable') reproduces the claim, entirely on the other side (outside the "
        "margin) contradicts it, else inconclusive; fewer than 2 units on a side gives no "
        f"interval, and fewer than {MIN_UNITS} no verdict. Runs whose dev loss had not flattened (it still fell by "
        f"{CONVERGED_BELOW:.0%} or more between the last two dev checks) are left out and "
        "counted; 'unknown': fewer than two dev checks, kept. Wall times: the mean train + decode time of the claim's runs here; "
        f"one GPU is assumed {GPU_SPEEDUP:g}× this CPU, not measured."
    )


def to_markdown(table: pd.DataFrame, text: str) -> str:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    body = [
        "| " + " | ".join(str(v).replace("|", "\\|") for v in row) + " |"
        for row in table.itertuples(index=False)
    ]
    return "\n".join([f"{text}\n", header, rule, *body]) + "\n"


def to_latex(table: pd.DataFrame, text: str, label: str) -> str:
    widths = "p{4.2cm}p{2.6cm}p{2.2cm}p{2.2cm}p{1.4cm}p{1.2cm}p{1.4cm}p{3.2cm}"
    lines = [
        r"\begin{table*}[t]",
        r"\centering\scriptsize",
        rf"\begin{{tabular}}{{{widths}}}",
        r"\toprule",
        " & ".join(tex_escape(c) for c in table.columns) + r" \\",
        r"\midrule",
        *(" & ".join(tex_escape(v) for v in row) + r" \\" for row in table.itertuples(index=False)),
        r"\bottomrule",
        r"\end{tabular}",
        rf"\caption{{{tex_escape(text)}}}",
        rf"\label{{tab:{label}}}",
        r"\end{table*}",
    ]
    return "\n".join(lines) + "\n"


def _sections(
    decided: list[tuple[str, list[Decision]]], scale: str
) -> list[tuple[str, pd.DataFrame, str]]:
    """(label, table, caption) per model."""
    return [
        (
            "claims" + (f"_{model}" if len(decided) > 1 else ""),
            frame(decisions),
            caption(model, scale, decisions),
        )
        for model, decisions in decided
    ]


def write_claims(
    results_dir: Path,
    out_dir: Path,
    scale: str = "quick",
    model: str | None = None,
    version: str = DEFAULT_PAPER_VERSION,
    run_at: Mapping[str, str] | None = None,
) -> tuple[list[Path], list[tuple[str, list[Decision]]]]:
    """Write `out_dir`/claims.md and claims.tex (one table per model); return the files and
    the decisions. `run_at` as in `decide`."""
    decided = decide_all(results_dir, scale, model, version, run_at)
    sections = _sections(decided, scale)
    out_dir.mkdir(parents=True, exist_ok=True)
    markdown = "\n".join(to_markdown(table, text) for _, table, text in sections)
    latex = "\n".join(to_latex(table, text, label) for label, table, text in sections)
    written = []
    for suffix, body in (("md", markdown), ("tex", latex)):
        path = out_dir / f"claims.{suffix}"
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written, decided


def update_readme(readme: Path, decided: list[tuple[str, list[Decision]]], scale: str) -> bool:
    """Replace the block between README_BEGIN and README_END with the scorecard. Returns False
    when the README has no such block."""
    text = readme.read_text(encoding="utf-8")
    if README_BEGIN not in text or README_END not in text:
        return False
    parts = [
        to_markdown(table, f"**{words}** Also in [tables/claims.md](tables/claims.md).")
        for _, table, words in _sections(decided, scale)
    ]
    head, rest = text.split(README_BEGIN, 1)
    tail = rest.split(README_END, 1)[1]
    readme.write_text(
        head + "\n".join([README_BEGIN, "", *parts, README_END]) + tail, encoding="utf-8"
    )
    return True
