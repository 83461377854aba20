"""WebNLG challenge 2017 (Gardent et al. 2017): the challenge XML files -> `Example`s.

Usage::

    from benchmark.data.webnlg import load_webnlg, load_webnlg_pairs, webnlg_seen_mask
    test = load_webnlg(data_dir, "test")           # 1,862 examples in XML (= official id) order
    seen = webnlg_seen_mask(data_dir)              # 971 True (seen) / 891 False (unseen)
    train = load_webnlg_pairs(data_dir, "train")   # 18,025 (source, "good" lexicalisation) pairs

Files live in `<data_dir>/webnlg/` with the release layout (data/README.md §2): `train/<k>triples/
*.xml`, `dev/<k>triples/*.xml` and `test/testdata_with_lex.xml`, the file the official evaluation
reads its references from [implementation notes D.2].

Sources are linearised exactly as the paper's training code does (`LineByLineWebNLGTextDataset`,
implementation notes A.3): every triple of `<modifiedtripleset>` becomes ``" | " + "subj : property
: obj"``, underscores kept, so a source STARTS with " | " (``" | Aarhus : leaderName :
Jacob_Bundsgaard | Aarhus_Airport : cityServed : Aarhus"``). The leading " | " -- space included --
is kept verbatim on every split: `Example.source` is the anchor's source string for every dataset
(E2E's has no leading separator, WebNLG's has one), and the model's ``" " + source + " " + bos``
then reproduces the anchor's ``' {} {} '.format(src, bos)`` token for token. The anchor's TEST-time
prompt quirk (entry 0 without separators, implementation notes A.8) is not reproduced here: it is a
decoding-side bug, and every split uses the training linearisation.

Only `comment="good"` lexicalisations are kept on train and dev, as the anchor keeps them for
training (18,025 of 18,102 train, 2,258 of 2,268 dev); the grouped loaders then drop the few entries
left without a reference (5 train, 1 dev). Every test lexicalisation is "good".
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from benchmark.data import Example
from benchmark.data.dataset import DatasetSpec
from benchmark.errors import DataFileError

# Bump when the examples produced from the same files change (linearisation, filtering, order):
# every result row records it.
WEBNLG_VERSION = (
    "1"  # 1: 2017 challenge XML, anchor linearisation with leading " | ", good lex only
)

WEBNLG_SPLITS = ("train", "dev", "test")
WEBNLG_TEST_FILE = "test/testdata_with_lex.xml"

# Seen = the 10 categories of train/dev, unseen = the 5 test-only ones: the official evaluation's
# `old_categories` / `new_categories` (evaluation.py L9-27; implementation notes D.2). The paper text
# says 9 seen categories, the data has 10 (setup.md §2).
WEBNLG_SEEN_CATEGORIES = frozenset(
    {
        "Airport",
        "Astronaut",
        "Building",
        "City",
        "ComicsCharacter",
        "Food",
        "Monument",
        "SportsTeam",
        "University",
        "WrittenWork",
    }
)
WEBNLG_UNSEEN_CATEGORIES = frozenset(
    {"Artist", "Athlete", "CelestialBody", "MeanOfTransportation", "Politician"}
)

# What each split must contain, counted on the release files (data/README.md §2). A mismatch means
# a truncated folder, a different WebNLG release (e.g. 2020 / v3.0) or an edited file.
WEBNLG_EXPECTED_FILES = {"train": 52, "dev": 52, "test": 1}
WEBNLG_EXPECTED_ENTRIES = {"train": 6_940, "dev": 872, "test": 1_862}
WEBNLG_EXPECTED_LEX = {"train": 18_102, "dev": 2_268, "test": 4_928}
WEBNLG_EXPECTED_GOOD_LEX = {"train": 18_025, "dev": 2_258, "test": 4_928}
# Entries with at least one good lexicalisation = examples returned by `load_webnlg`.
WEBNLG_EXPECTED_EXAMPLES = {"train": 6_935, "dev": 871, "test": 1_862}
WEBNLG_EXPECTED_SEEN_TEST = 971  # test entries in seen categories; 891 unseen

TRIPLE_SEPARATOR = " | "  # before EVERY triple, the first included (anchor L806-810)

_FIX_HINT = (
    "put the WebNLG 2017 challenge release (train/, dev/, test/ folders of XML files) in "
    "<data_dir>/webnlg/ (data/README.md §2: XiangLi1999/PrefixTuning data/webnlg_challenge_2017)"
)


@dataclass(frozen=True)
class WebNLGEntry:
    """One `<entry>` of the XML: what the loaders and the seen/unseen split need."""

    eid: str  # "Id1", ...
    category: str  # e.g. "Airport"
    triples: tuple[tuple[str, str, str], ...]  # modified triples (subject, property, object)
    lexicalisations: tuple[tuple[str, str], ...]  # (comment, text), XML order


def linearize_triples(
    triples: tuple[tuple[str, str, str], ...] | list[tuple[str, str, str]],
) -> str:
    """Triples -> the anchor's WebNLG source: ``" | s : p : o"`` for every triple, concatenated.

    ``[("Aarhus", "leaderName", "Jacob_Bundsgaard")]`` -> ``" | Aarhus : leaderName :
    Jacob_Bundsgaard"`` (leading space and separator kept; see the module docstring).
    """
    return "".join(f"{TRIPLE_SEPARATOR}{subj} : {prop} : {obj}" for subj, prop, obj in triples)


def webnlg_files(data_dir: str | os.PathLike[str], split: str) -> list[Path]:
    """The XML files of `split`, in loading order.

    Train/dev: every `*.xml` under `webnlg/<split>/`, ordered by triple-count folder (1triples ..
    7triples) then file name -- a fixed, documented order (the anchor read a JSON conversion whose
    order is not recorded). Test: the single official file.
    """
    if split not in WEBNLG_SPLITS:
        raise ValueError(
            f"unknown WebNLG split {split!r}; expected one of {', '.join(WEBNLG_SPLITS)}"
        )
    root = Path(data_dir) / "webnlg"
    if split == "test":
        return [root / WEBNLG_TEST_FILE]
    return sorted((root / split).glob("*/*.xml"), key=lambda path: _natural_key(path, root))


def load_webnlg(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per entry with at least one good lexicalisation, ALL of them as references.

    Test: 1,862 examples in XML order, which is the official id order (Id1..Id1862) that the
    scorer's reference files and `webnlg_seen_mask` use.
    """
    return [
        Example(linearize_triples(entry.triples), refs)
        for entry in _entries(_checked_dir(data_dir, split), split)
        if (refs := _good_texts(entry))
    ]


def load_webnlg_pairs(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per good lexicalisation (train: 18,025), in file then XML order."""
    return [
        Example(linearize_triples(entry.triples), (text,))
        for entry in _entries(_checked_dir(data_dir, split), split)
        for text in _good_texts(entry)
    ]


def webnlg_entries(data_dir: str | os.PathLike[str], split: str) -> tuple[WebNLGEntry, ...]:
    """The parsed entries of `split` (all of them, all lexicalisations), in loading order."""
    return _entries(_checked_dir(data_dir, split), split)


def webnlg_test_categories(data_dir: str | os.PathLike[str]) -> list[str]:
    """The category of each of the 1,862 test examples, in `load_webnlg(..., "test")` order."""
    return [entry.category for entry in _entries(_checked_dir(data_dir, "test"), "test")]


def webnlg_seen_mask(data_dir: str | os.PathLike[str]) -> list[bool]:
    """True for test examples of the 10 seen categories (971), False for unseen ones (891)."""
    return [category in WEBNLG_SEEN_CATEGORIES for category in webnlg_test_categories(data_dir)]


def webnlg_eval_indices(data_dir: str | os.PathLike[str], limit: int) -> list[int]:
    """The test examples a run limited to `limit` inputs scores, in test order.

    The test file lists the seen part first and each part by size then category, so its first N
    inputs would all be seen one-triple Airport entries. A limited run takes ceil(N/2) seen and
    floor(N/2) unseen inputs instead, each spread evenly over its part (every k-th), so S, U and
    A all get a number. `limit` >= 1,862 keeps everything.
    """
    mask = webnlg_seen_mask(data_dir)
    if limit >= len(mask):
        return list(range(len(mask)))
    seen = [i for i, is_seen in enumerate(mask) if is_seen]
    unseen = [i for i, is_seen in enumerate(mask) if not is_seen]
    n_seen = min(-(-limit // 2), len(seen))
    n_unseen = min(limit - n_seen, len(unseen))
    picked = [seen[k * len(seen) // n_seen] for k in range(n_seen)]
    picked += [unseen[k * len(unseen) // n_unseen] for k in range(n_unseen)]
    return sorted(picked)


def content_hash(data_dir: str | os.PathLike[str], split: str) -> str:
    """First 12 hex digits of a sha256 over the split's files (relative path + bytes, in order)."""
    return _sha256_prefix(_checked_dir(data_dir, split), split)


# --- internals ----------------------------------------------------------------------------------
def _natural_key(path: Path, root: Path) -> tuple[object, ...]:
    # "10triples" must not sort before "2triples" should a later release add one.
    parts = re.split(r"(\d+)", str(path.relative_to(root)))
    return tuple(int(part) if part.isdigit() else part for part in parts)


def _good_texts(entry: WebNLGEntry) -> tuple[str, ...]:
    return tuple(text for comment, text in entry.lexicalisations if comment == "good")


def _checked_dir(data_dir: str | os.PathLike[str], split: str) -> Path:
    files = webnlg_files(data_dir, split)
    folder = Path(data_dir) / "webnlg" / (WEBNLG_TEST_FILE if split == "test" else split)
    if not files or not all(path.is_file() for path in files):
        raise DataFileError(f"WebNLG {split} data not found at {folder}; {_FIX_HINT}")
    # Resolved so that the caches below see one key per folder, however it was spelled.
    return Path(data_dir).resolve()


def split_mtriple(text: str, where: str, hint: str) -> tuple[str, str, str]:
    """``"s | p | o"`` (a WebNLG-format `<mtriple>`, also DART's XML) -> (s, p, o)."""
    parts = text.split(" | ")
    if len(parts) != 3:
        raise DataFileError(
            f"{where} has a malformed triple {text!r} (expected 'subject | property | object'); "
            f"{hint}"
        )
    return parts[0], parts[1], parts[2]


def _parse_file(path: Path) -> list[WebNLGEntry]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise DataFileError(f"{path}: not a readable XML file ({error}); {_FIX_HINT}") from error
    entries = []
    for element in root.iter("entry"):
        triples = [
            split_mtriple((m.text or "").strip(), f"{path}: entry {element.get('eid')}", _FIX_HINT)
            for m in element.iter("mtriple")
        ]
        lexicalisations = tuple(
            (lex.get("comment", ""), (lex.text or "").strip()) for lex in element.iter("lex")
        )
        entries.append(
            WebNLGEntry(
                eid=element.get("eid", ""),
                category=element.get("category", ""),
                triples=tuple(triples),
                lexicalisations=lexicalisations,
            )
        )
    return entries


@functools.cache
def _entries(data_dir: Path, split: str) -> tuple[WebNLGEntry, ...]:
    """All entries of the split, checked against the expected counts. Cached per process."""
    files = webnlg_files(data_dir, split)
    where = data_dir / "webnlg" / (WEBNLG_TEST_FILE if split == "test" else split)
    entries = tuple(entry for path in files for entry in _parse_file(path))
    found = {
        "files": len(files),
        "entries": len(entries),
        "lexicalisations": sum(len(entry.lexicalisations) for entry in entries),
        "good lexicalisations": sum(len(_good_texts(entry)) for entry in entries),
    }
    expected = {
        "files": WEBNLG_EXPECTED_FILES[split],
        "entries": WEBNLG_EXPECTED_ENTRIES[split],
        "lexicalisations": WEBNLG_EXPECTED_LEX[split],
        "good lexicalisations": WEBNLG_EXPECTED_GOOD_LEX[split],
    }
    if found != expected:
        wrong = ", ".join(f"{k} {found[k]:,} (expected {expected[k]:,})" for k in expected)
        raise DataFileError(
            f"WebNLG {split} at {where}: {wrong}; the files are incomplete or not the 2017 "
            f"challenge release; {_FIX_HINT}"
        )
    if split == "test":
        # The official scorer orders references by natural sort of the entry ids; the XML order
        # must be that order for line i of an output file to meet reference line i.
        out_of_order = [e.eid for i, e in enumerate(entries) if e.eid != f"Id{i + 1}"]
        if out_of_order:
            raise DataFileError(
                f"{where}: entries are not in id order (first out of place: {out_of_order[0]}); "
                f"{_FIX_HINT}"
            )
        seen = sum(entry.category in WEBNLG_SEEN_CATEGORIES for entry in entries)
        unknown = {e.category for e in entries} - WEBNLG_SEEN_CATEGORIES - WEBNLG_UNSEEN_CATEGORIES
        if unknown or seen != WEBNLG_EXPECTED_SEEN_TEST:
            raise DataFileError(
                f"{where}: {seen:,} seen-category entries (expected "
                f"{WEBNLG_EXPECTED_SEEN_TEST:,}), unknown categories {sorted(unknown)}; {_FIX_HINT}"
            )
    return entries


@functools.cache
def _sha256_prefix(data_dir: Path, split: str) -> str:
    digest = hashlib.sha256()
    root = data_dir / "webnlg"
    for path in webnlg_files(data_dir, split):
        digest.update(str(path.relative_to(root)).encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ---- registry entry ---------------------------------------------------------------------------


def _score(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.webnlg import score_webnlg

    if split != "test":
        raise ValueError("WebNLG is scored per seen/unseen category on the test split only")
    mask = webnlg_seen_mask(data_dir)
    # a limited run scored `webnlg_eval_indices(data_dir, N)` (half seen, half unseen)
    seen = [mask[i] for i in webnlg_eval_indices(data_dir, len(hyps))]
    return score_webnlg(hyps, refs, seen)


def _provenance() -> dict[str, str]:
    from benchmark.metrics.webnlg import webnlg_provenance

    return webnlg_provenance()


DATASET = DatasetSpec(
    load=load_webnlg,
    load_pairs=load_webnlg_pairs,
    content_hash=content_hash,
    version=f"webnlg2017-{WEBNLG_VERSION}",
    score=_score,
    scorer_provenance=_provenance,
    metrics=tuple(f"{m}_{s}" for m in ("bleu", "meteor", "ter") for s in ("seen", "unseen", "all")),
    eval_indices=webnlg_eval_indices,
)
REGISTER = {
    "webnlg": (
        "DATASET",
        "WebNLG 2017 challenge XML; BLEU METEOR TER on seen / unseen / all categories",
    )
}
