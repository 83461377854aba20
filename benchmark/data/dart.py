"""DART v1.1.1 (Nan et al. 2021): the release JSON/XML files -> `Example`s.

Usage::

    from benchmark.data.dart import fetch_dart, load_dart, load_dart_pairs
    dev = load_dart(data_dir, "dev")      # 2,768 examples (JSON order), 6,980 references
    test = load_dart(data_dir, "test")    # 5,097 examples (XML order), 12,551 references
    fetch_dart(data_dir)                  # network only: downloads the train JSON (62,659 pairs)
    train = load_dart_pairs(data_dir, "train")

Files live in `<data_dir>/dart/` under their release names (data/README.md §3). Which file each
split comes from, and why:

* train: `dart-v1.1.1-full-train.json` -- not in the offline copy (too large); `fetch_dart`
  downloads it from the Yale-LILY/dart repository at the paper-era commit.
* dev: `dart-v1.1.1-full-dev.json`, the file the anchor trains/validates with (same blob as
  Yale-LILY/dart `data/v1.1.1/` in July 2020).
* test: `dart-v1.1.1-full-test.xml`, the CURRENT official grouping (5,097 entries, 12,552
  lexicalisations) that the current official references `dart/eval_references/
  all-delex-reference{0,1,2}.lex` follow line for line. The paper-era test JSON (6,959 entries,
  same 12,552 annotations) is not available offline, so test scores are on the current grouping.

Sources are linearised as the anchor's `LineByLineTriplesTextDataset` does (implementation notes
A.3): relation lower-cased, ``"s : p : o"`` per triple, joined by " | " (no leading separator):
``"Mars Hill College : joined : 1973 | Mars Hill College : location : Mars Hill, North Carolina"``.
The XML triples (``s | p | o``) give the same sources as the JSON on dev, entry for entry (tested).
One test lexicalisation is empty (`Id116`, lid `Id2`); it is dropped, which the official reference
files agree with (an empty line there).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import tempfile
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

from benchmark.data import Example
from benchmark.data.dataset import DatasetSpec
from benchmark.data.webnlg import split_mtriple
from benchmark.errors import DataFileError, FetchError

log = logging.getLogger(__name__)

# Bump when the examples produced from the same files change: every result row records it.
DART_VERSION = "1"  # 1: v1.1.1, dev JSON, current test XML grouping, anchor linearisation

DART_FILES = {
    "train": "dart-v1.1.1-full-train.json",
    "dev": "dart-v1.1.1-full-dev.json",
    "test": "dart-v1.1.1-full-test.xml",
}
# The train JSON at the Yale-LILY/dart commit whose dev/test v1.1.1 files the paper used (July
# 2020, data/README.md §3); the same path on the default branch also serves it.
DART_TRAIN_URL = (
    "https://raw.githubusercontent.com/Yale-LILY/dart/"
    "88559db76e5acb6a84e160f483b47d979e8e1220/data/v1.1.1/dart-v1.1.1-full-train.json"
)

# Counted on the release files (data/README.md §3); train from the DART paper's v1.1.1 statistics,
# whose dev (6,980) and test (12,552) figures match the files here exactly. A mismatch means a
# different DART version or a truncated file.
DART_EXPECTED_ENTRIES = {"dev": 2_768, "test": 5_097}  # train: not published per entry
DART_EXPECTED_ANNOTATIONS = {"train": 62_659, "dev": 6_980, "test": 12_552}
DART_EXPECTED_EMPTY_ANNOTATIONS = {"train": None, "dev": 0, "test": 1}  # None: not checked

DOWNLOAD_TIMEOUT_S = 300.0  # the train JSON is tens of MB; a stalled connection must fail

_FIX_HINT = (
    "put the DART v1.1.1 release files in <data_dir>/dart/ (data/README.md §3: "
    "Yale-LILY/dart data/v1.1.1/)"
)


def linearize_tripleset(triples: list[list[str]] | list[tuple[str, str, str]]) -> str:
    """DART triples -> the anchor's source: relation lower-cased, ``s : p : o`` joined by " | ".

    ``[["Mars Hill College", "JOINED", "1973"]]`` -> ``"Mars Hill College : joined : 1973"``.
    """
    return " | ".join(f"{subj} : {prop.lower()} : {obj}" for subj, prop, obj in triples)


def dart_path(data_dir: str | os.PathLike[str], split: str) -> Path:
    """Path of the release file `split` ("train", "dev" or "test") is read from."""
    if split not in DART_FILES:
        raise ValueError(f"unknown DART split {split!r}; expected one of {', '.join(DART_FILES)}")
    return Path(data_dir) / "dart" / DART_FILES[split]


def load_dart(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per tripleset with all its (non-empty) annotations, in file order.

    Test gives the 5,097 inputs of the current official reference files, in their line order.
    """
    return [
        Example(linearize_tripleset(triples), texts)
        for triples, texts in _entries(_checked_path(data_dir, split), split)
        if texts
    ]


def load_dart_pairs(data_dir: str | os.PathLike[str], split: str) -> list[Example]:
    """One `Example` per non-empty annotation (dev 6,980; test 12,551; train 62,659)."""
    return [
        Example(linearize_tripleset(triples), (text,))
        for triples, texts in _entries(_checked_path(data_dir, split), split)
        for text in texts
    ]


def content_hash(data_dir: str | os.PathLike[str], split: str) -> str:
    """First 12 hex digits of the sha256 of the split's file, recorded in every result row."""
    return _sha256_prefix(_checked_path(data_dir, split))


def fetch_dart(
    dest: str | os.PathLike[str],
    url: str = DART_TRAIN_URL,
    timeout: float = DOWNLOAD_TIMEOUT_S,
) -> Path:
    """Download the DART v1.1.1 train JSON into `dest/dart/` (kept if already there).

    The download goes to a temporary file in the same folder and is renamed into place only once
    it parses as a DART JSON file (a list of entries with "tripleset" and "annotations"), so a
    failed or wrong download never leaves a file that `load_dart` would read.

    Args:
        dest: the data directory (the one later passed as --data-dir / BENCHMARK_DATA_DIR).
        url: where to download from; a parameter so that tests can use a local ``file://`` URL.
        timeout: seconds before a stalled download is abandoned.

    Returns:
        The path of the train file.

    Raises:
        FetchError: the download failed or the file is not a DART JSON file.
    """
    target = dart_path(dest, "train")
    if target.is_file():
        log.info("%s already present; not downloading it again", target)
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary_name = tempfile.mkstemp(prefix=".download-", dir=target.parent)
    temporary = Path(temporary_name)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=timeout) as response:
                    for block in iter(lambda: response.read(1 << 20), b""):
                        out.write(block)
            except (urllib.error.URLError, OSError, ValueError) as error:
                raise FetchError(
                    f"could not download the DART train file from {url}: {error}"
                ) from error
        try:
            entries = json.loads(temporary.read_text(encoding="utf-8"))
            _validate_json(entries, url)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise FetchError(f"{url} is not a DART JSON file ({error})") from error
        except DataFileError as error:
            raise FetchError(str(error)) from error
        temporary.replace(target)
    finally:
        temporary.unlink(missing_ok=True)
    log.info("downloaded %s", target)
    return target


def read_dart_file(
    path: str | os.PathLike[str],
) -> list[tuple[list[tuple[str, str, str]], list[str]]]:
    """(triples, annotation texts) of every entry of a DART JSON or XML file, as released.

    No count checks and no filtering (an empty annotation is ""); the loaders add both. XML
    triples are ``s | p | o`` strings split at " | "; JSON triples are ``[s, p, o]`` lists.
    """
    path = Path(path)
    return _read_xml(path) if path.suffix == ".xml" else _read_json(path)


# --- internals ----------------------------------------------------------------------------------
def _checked_path(data_dir: str | os.PathLike[str], split: str) -> Path:
    path = dart_path(data_dir, split)
    if not path.is_file():
        if split == "train":
            raise DataFileError(
                f"DART train file not found: {path} (it is not part of the offline copy); run "
                f"`python -m benchmark fetch dart --dest {data_dir}` (needs a network), or "
                f"download {DART_TRAIN_URL} to that path"
            )
        raise DataFileError(f"DART {split} file not found: {path}; {_FIX_HINT}")
    # Resolved so that the caches below see one key per file, however the path was spelled.
    return path.resolve()


@functools.cache
def _sha256_prefix(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def _validate_json(entries: object, where: str | Path) -> None:
    if not isinstance(entries, list) or not all(
        isinstance(entry, dict)
        and isinstance(entry.get("tripleset"), list)
        and isinstance(entry.get("annotations"), list)
        for entry in entries
    ):
        raise DataFileError(
            f"{where}: expected a JSON list of entries with 'tripleset' and 'annotations' "
            f"(DART v1.1.1 format); {_FIX_HINT}"
        )
    for index, entry in enumerate(entries):
        if any(not isinstance(t, list) or len(t) != 3 for t in entry["tripleset"]):
            raise DataFileError(f"{where}: entry {index} has a triple that is not [s, p, o]")


def _read_json(path: Path) -> list[tuple[list[tuple[str, str, str]], list[str]]]:
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as error:
        raise DataFileError(f"{path}: not a readable JSON file ({error}); {_FIX_HINT}") from error
    _validate_json(entries, path)
    return [
        (
            [(s, p, o) for s, p, o in entry["tripleset"]],
            [annotation.get("text") or "" for annotation in entry["annotations"]],
        )
        for entry in entries
    ]


def _read_xml(path: Path) -> list[tuple[list[tuple[str, str, str]], list[str]]]:
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as error:
        raise DataFileError(f"{path}: not a readable XML file ({error}); {_FIX_HINT}") from error
    entries = []
    for element in root.iter("entry"):
        where = f"{path}: entry {element.get('eid')}"
        triples = [split_mtriple(m.text or "", where, _FIX_HINT) for m in element.iter("mtriple")]
        entries.append((triples, [lex.text or "" for lex in element.iter("lex")]))
    return entries


@functools.cache
def _entries(
    path: Path, split: str
) -> tuple[tuple[tuple[tuple[str, str, str], ...], tuple[str, ...]], ...]:
    """(triples, non-empty annotation texts) per entry, checked against the expected counts."""
    raw = read_dart_file(path)
    annotations = sum(len(texts) for _, texts in raw)
    empty = sum(not text.strip() for _, texts in raw for text in texts)
    expected_entries = DART_EXPECTED_ENTRIES.get(split)
    expected_empty = DART_EXPECTED_EMPTY_ANNOTATIONS[split]
    entries_wanted = f"{expected_entries:,}" if expected_entries is not None else "any number of"
    if (
        annotations != DART_EXPECTED_ANNOTATIONS[split]
        or (expected_entries is not None and len(raw) != expected_entries)
        or (expected_empty is not None and empty != expected_empty)
    ):
        raise DataFileError(
            f"{path}: {len(raw):,} entries, {annotations:,} annotations ({empty} empty); expected "
            f"{entries_wanted} entries and "
            f"{DART_EXPECTED_ANNOTATIONS[split]:,} annotations (DART v1.1.1 {split}); the file is "
            f"truncated or another DART version; {_FIX_HINT}"
        )
    if empty:
        log.info("%s: dropped %d empty annotation(s)", path.name, empty)
    return tuple(
        (tuple(triples), tuple(text for text in texts if text.strip())) for triples, texts in raw
    )


# ---- registry entry ---------------------------------------------------------------------------


def _score(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.dart import score_dart

    return score_dart(hyps, refs)


def _provenance() -> dict[str, str]:
    from benchmark.metrics.dart import dart_provenance

    return dart_provenance()


DATASET = DatasetSpec(
    load=load_dart,
    load_pairs=load_dart_pairs,
    content_hash=content_hash,
    version=f"dart-v1.1.1-{DART_VERSION}",
    score=_score,
    scorer_provenance=_provenance,
    metrics=("bleu", "meteor", "ter", "moverscore", "bertscore", "bleurt"),
    fetch=lambda dest: [fetch_dart(dest)],  # dev and test are in the offline copy; train is not
)
REGISTER = {
    "dart": (
        "DATASET",
        "DART v1.1.1 (train needs `fetch`); BLEU METEOR TER (+ model metrics when installed)",
    )
}
