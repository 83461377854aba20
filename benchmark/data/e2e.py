"""E2E NLG challenge (Novikova et al. 2017): original CSV files -> `Example`s.

Usage::

    from benchmark.data.e2e import load_e2e, load_e2e_pairs, resolve_data_dir
    data_dir = resolve_data_dir(None)          # --data-dir flag, else $BENCHMARK_DATA_DIR
    test = load_e2e(data_dir, "test")          # 630 examples, one per unique MR, all references
    train = load_e2e_pairs(data_dir, "train")  # 42,061 (source, reference) pairs, file order

The paper uses the original (not the cleaned) E2E release with its train/dev/test files [setup.md
§2]. Files live in `<data_dir>/e2e/` under their original names; `python -m benchmark fetch e2e`
downloads them.

Sources are linearised the way the authors' preprocessed files are (`src1_valid.txt`,
`src1_test.txt` of XiangLi1999/PrefixTuning): ``name : The Vaults | Type : pub | price : more than
£ 30``. References are kept as the raw CSV text; tokenising them is the scorer's business.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import os
import re
from pathlib import Path

from benchmark.data import Example
from benchmark.data.dataset import DatasetSpec
from benchmark.errors import DataFileError

# Bump when the examples produced from the same files change (linearisation, grouping, order): every
# result row records it, so numbers from different adapter versions are never silently mixed.
E2E_VERSION = "1"  # 1: release v1.0.0 files, authors' linearisation (checked on dev + test)


E2E_SPLITS = {"train": "trainset.csv", "dev": "devset.csv", "test": "testset_w_refs.csv"}

# What each file must contain (counted on the release files; data/README.md §1). A mismatch means a
# truncated, edited or "cleaned E2E" file, any of which would silently change every number.
E2E_EXPECTED_PAIRS = {"train": 42_061, "dev": 4_672, "test": 4_693}
E2E_EXPECTED_MRS = {"train": 4_862, "dev": 547, "test": 630}

# Attribute renaming of the authors' preprocessing, read off src1_valid.txt / src1_test.txt against
# devset.csv / testset_w_refs.csv (every row of both agrees). Attributes not listed keep their name
# (name, area, food, near, customer rating).
E2E_ATTRIBUTE_NAMES = {
    "eatType": "Type",
    "familyFriendly": "family friendly",
    "priceRange": "price",
}

# The authors' files are tokenised; in MR values that only ever splits off "£" and "-" (e.g.
# "£20-25" -> "£ 20 - 25", "less than £20" -> "less than £ 20"). No other value in any of the three
# splits contains punctuation, so this rule reproduces their sources exactly.
_VALUE_SPLIT = re.compile(r"\s*([£-])\s*")

# One `attribute[value]` item of an MR, with its separating comma.
_MR_ITEM = re.compile(r"\s*([^\[\],]+?)\s*\[([^\[\]]*)\]\s*(?:,(?=\s*\S)|\Z)")

_FIX_HINT = (
    "pass --data-dir or set BENCHMARK_DATA_DIR to a folder holding e2e/{name}; "
    "or run `python -m benchmark fetch e2e`"
)


def e2e_path(data_dir: str | os.PathLike[str], split: str) -> Path:
    """Path of the original CSV file of `split` ("train", "dev" or "test")."""
    if split not in E2E_SPLITS:
        raise ValueError(f"unknown E2E split {split!r}; expected one of {', '.join(E2E_SPLITS)}")
    return Path(data_dir) / "e2e" / E2E_SPLITS[split]


def linearize_mr(mr: str) -> str:
    """E2E meaning representation -> the paper's source string.

    ``"name[The Vaults], eatType[pub], priceRange[more than £30]"`` ->
    ``"name : The Vaults | Type : pub | price : more than £ 30"``. Attribute order is kept.

    Raises:
        ValueError: `mr` is not a comma-separated list of `attribute[value]` items.
    """
    items: list[str] = []
    position = 0
    while position < len(mr):
        match = _MR_ITEM.match(mr, position)
        if match is None or match.end() == position:
            raise ValueError(f"malformed E2E MR at character {position}: {mr!r}")
        attribute, value = match.groups()
        name = E2E_ATTRIBUTE_NAMES.get(attribute, attribute)
        value = _VALUE_SPLIT.sub(r" \1 ", value).strip()
        items.append(f"{name} : {value}")
        position = match.end()
    if not items:
        raise ValueError(f"empty E2E MR: {mr!r}")
    return " | ".join(items)


def load_e2e(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per unique MR, in order of first appearance, with ALL its references.

    References are the raw CSV text; verbatim duplicates are kept (the multi-reference scorer sees
    the references as released). Test gives the 630 inputs the paper decodes [setup.md §2].
    """
    return list(_grouped(_checked_path(data_dir, split), split))


def load_e2e_pairs(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per CSV row (a single reference each), in file order.

    Index i is row i of the file, which is what low-data subsets store.
    """
    return list(_pairs(_checked_path(data_dir, split), split))


def content_hash(data_dir: str | os.PathLike[str], split: str) -> str:
    """First 12 hex digits of the sha256 of the split's file, recorded in every result row."""
    return _sha256_prefix(_checked_path(data_dir, split))


def _checked_path(data_dir: str | os.PathLike[str], split: str) -> Path:
    path = e2e_path(data_dir, split)
    if not path.is_file():
        hint = _FIX_HINT.format(name=path.name)
        raise DataFileError(f"E2E {split} file not found: {path}; {hint}")
    # Resolved so that the caches below see one key per file, however the path was spelled.
    return path.resolve()


@functools.cache
def _sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


@functools.cache
def _rows(path: Path, split: str) -> tuple[tuple[str, str], ...]:
    """(mr, ref) rows of one file, checked against the expected counts. Cached per process."""
    hint = _FIX_HINT.format(name=path.name)
    try:
        # newline="" because train/dev use CRLF and two train refs contain a line break.
        with open(path, newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle)
            if reader.fieldnames is None or not {"mr", "ref"} <= set(reader.fieldnames):
                raise DataFileError(
                    f"{path}: expected CSV columns 'mr' and 'ref', found {reader.fieldnames}; "
                    f"this is not an E2E {split} file with references; {hint}"
                )
            rows = tuple((row["mr"], row["ref"]) for row in reader)
    except (UnicodeDecodeError, csv.Error) as error:
        raise DataFileError(f"{path}: not a readable UTF-8 CSV file ({error}); {hint}") from error
    if any(mr is None or ref is None for mr, ref in rows):
        raise DataFileError(f"{path}: some rows lack an 'mr' or 'ref' field; {hint}")

    expected_pairs, expected_mrs = E2E_EXPECTED_PAIRS[split], E2E_EXPECTED_MRS[split]
    found_mrs = len({mr for mr, _ in rows})
    if len(rows) != expected_pairs or found_mrs != expected_mrs:
        raise DataFileError(
            f"{path}: expected {expected_pairs:,} rows and {expected_mrs:,} unique MRs "
            f"(original E2E {path.name}), found {len(rows):,} rows and {found_mrs:,} MRs; "
            f"the file is truncated or not the original release; {hint}"
        )
    return rows


@functools.cache
def _sources(path: Path, split: str) -> dict[str, str]:
    """Raw MR -> linearised source, for every MR of the file."""
    sources: dict[str, str] = {}
    for mr, _ in _rows(path, split):
        if mr not in sources:
            try:
                sources[mr] = linearize_mr(mr)
            except ValueError as error:
                raise DataFileError(
                    f"{path}: {error}; {_FIX_HINT.format(name=path.name)}"
                ) from error
    return sources


@functools.cache
def _pairs(path: Path, split: str) -> tuple[Example, ...]:
    sources = _sources(path, split)
    return tuple(Example(sources[mr], (ref,)) for mr, ref in _rows(path, split))


@functools.cache
def _grouped(path: Path, split: str) -> tuple[Example, ...]:
    references: dict[str, list[str]] = {}  # dicts keep first-appearance order
    for mr, ref in _rows(path, split):
        references.setdefault(mr, []).append(ref)
    sources = _sources(path, split)
    return tuple(Example(sources[mr], tuple(refs)) for mr, refs in references.items())


# ---- registry entry ---------------------------------------------------------------------------


def _score(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics import score_e2e

    return score_e2e(hyps, refs)


def _provenance() -> dict[str, str]:
    from benchmark.metrics import e2e_provenance

    return e2e_provenance()


def _fetch(dest: Path) -> list[Path]:
    from benchmark.data.fetch import fetch_e2e

    return list(fetch_e2e(dest).values())


DATASET = DatasetSpec(
    load=load_e2e,
    load_pairs=load_e2e_pairs,
    content_hash=content_hash,
    version=f"e2e-original-v{E2E_VERSION}",
    score=_score,
    scorer_provenance=_provenance,
    metrics=("bleu", "nist", "meteor", "rouge_l", "cider"),
    fetch=_fetch,
)
REGISTER = {
    "e2e": (
        "DATASET",
        "E2E NLG (Novikova et al. 2017), original release; BLEU NIST METEOR ROUGE-L CIDEr",
    )
}
