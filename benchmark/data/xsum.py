"""XSUM (Narayan et al. 2018): official split ids + user-provided articles -> `Example`s.

Usage::

    from benchmark.data.xsum import load_xsum, read_bbc_topics, extrapolation_split
    test = load_xsum(data_dir, "test")     # the test articles available (here 1,000 of 11,334)
    test.found, test.total, test.ids       # how many of the split's ids were found, and which
    # with a network instead: load_xsum_from_hub("test")

Files in `<data_dir>/xsum/` (data/README.md §4):

* `XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json`: the official split (ids; train 204,045 / validation
  11,332 / test 11,334). It fixes which articles form each split and in which order.
* `gold-test-sentences.txt`: line i is the (lower-cased, PTB-tokenised) gold summary of test id i;
  used only to check that a test article file is really XSUM (its summaries must match).
* the articles: a JSONL file with one ``{"document", "summary", "id"}`` object per line (the
  Hugging Face `EdinburghNLP/xsum` field layout), by default `<split>.jsonl` with split named as in
  the split file (`train.jsonl`, `validation.jsonl`, `test.jsonl`). The offline copy has 1,000
  test articles only, so `load_xsum` returns the examples whose articles are available, in split
  order, and says how many it found.

Sources are the article text with its sentence line breaks replaced by spaces (the anchor reads
one-article-per-line `.source` files); truncation to 512/1024 tokens is the model's job [setup.md
§2, implementation notes R26]. References are the JSONL `summary`, original casing, stripped.

Extrapolation (paper §6.4 / ACL A.1): `read_bbc_topics` reads the topic of every article from the
release's URL list `XSum-WebArxiveUrls-BBCids.txt`, and `extrapolation_split` makes the
news-to-sports and within-news splits.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from benchmark.data import Example
from benchmark.data.dataset import DatasetSpec
from benchmark.errors import DataFileError

log = logging.getLogger(__name__)

# Bump when the examples produced from the same files change: every result row records it.
XSUM_VERSION = "1"  # 1: official split order, line breaks -> spaces, JSONL summaries as references

XSUM_SPLIT_FILE = "XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json"
XSUM_GOLD_TEST_FILE = "gold-test-sentences.txt"
XSUM_HUB_DATASET = "EdinburghNLP/xsum"
# Our split names -> the split file's (and the hub's) names.
XSUM_SPLITS = {"train": "train", "dev": "validation", "test": "test"}
# Counted on the official split file (data/README.md §4); the hub dataset has the same sizes.
XSUM_EXPECTED_IDS = {"train": 204_045, "dev": 11_332, "test": 11_334}

# Extrapolation settings [ACL A.1; v1 §6.4].
EXTRAPOLATION_SETTINGS = ("news-to-sports", "within-news")
WITHIN_NEWS_TRAIN_SUBDOMAINS = frozenset({"world", "uk", "business"})  # "top 3 news subdomains"

_FIX_HINT = (
    "put the official XSUM split file and gold-test-sentences.txt in <data_dir>/xsum/ "
    "(EdinburghNLP/XSum, data/README.md §4)"
)
_ARTICLES_HINT = (
    'put a JSONL file of {{"document", "summary", "id"}} objects at {path} (export the '
    "Hugging Face dataset EdinburghNLP/xsum, or build it from the original EdinburghNLP/XSum "
    "release), or pass articles=PATH; with a network, load_xsum_from_hub({split!r}) needs no file"
)
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


class XsumExamples(list[Example]):
    """The examples of a split whose articles were available, plus coverage information.

    Attributes:
        split: "train", "dev" or "test".
        ids: the BBC id of each example, same order.
        found: how many of the split's ids had an article (= len(self)).
        total: how many ids the split has (e.g. 11,334 for test).
    """

    def __init__(self, examples: Iterable[Example], split: str, ids: Sequence[str], total: int):
        super().__init__(examples)
        self.split = split
        self.ids = list(ids)
        self.found = len(self.ids)
        self.total = total


def xsum_split_ids(data_dir: str | os.PathLike[str]) -> dict[str, list[str]]:
    """The official split: {"train", "dev", "test"} -> BBC ids (strings), in split-file order."""
    raw = _split_ids(_checked_file(data_dir, XSUM_SPLIT_FILE))
    return {split: list(raw[key]) for split, key in XSUM_SPLITS.items()}


def articles_path(data_dir: str | os.PathLike[str], split: str) -> Path:
    """Default location of the articles of `split`: `<data_dir>/xsum/<train|validation|test>.jsonl`."""
    return Path(data_dir) / "xsum" / f"{_split_key(split)}.jsonl"


def load_xsum(
    data_dir: str | os.PathLike[str],
    split: str,
    articles: str | os.PathLike[str] | None = None,
) -> XsumExamples:
    """One `Example` per split id whose article is available, in official split order.

    Args:
        data_dir: folder holding `xsum/` with the split file (and gold-test-sentences.txt).
        split: "train", "dev" (alias "validation") or "test".
        articles: JSONL file with the articles; default `articles_path(data_dir, split)`. Articles
            whose id is not in `split` are ignored (and counted in the log).

    Returns:
        `XsumExamples` (a list) with `.found` of `.total` ids and `.ids`; logged at INFO.

    Raises:
        DataFileError: a file is missing or malformed, a test summary does not match the official
            gold summary of its id, or no article of the split is available.
    """
    split = _our_split(split)
    split_file = _checked_file(data_dir, XSUM_SPLIT_FILE)
    split_ids = _split_ids(split_file)[XSUM_SPLITS[split]]
    path = Path(articles) if articles is not None else articles_path(data_dir, split)
    if not path.is_file():
        hint = _ARTICLES_HINT.format(path=path, split=split)
        raise DataFileError(f"no XSUM {split} articles: {path} not found; {hint}")
    by_id = _read_articles(path.resolve())
    wanted = set(split_ids)
    ids = [bbc_id for bbc_id in split_ids if bbc_id in by_id]
    ignored = sum(1 for bbc_id in by_id if bbc_id not in wanted)
    if not ids:
        hint = _ARTICLES_HINT.format(path=path, split=split)
        raise DataFileError(
            f"no XSUM {split} articles: none of the {len(by_id):,} articles in {path} has an id of "
            f"the {split} split; {hint}"
        )
    if split == "test":
        _check_against_gold(data_dir, split_ids, ids, by_id, path)
    log.info(
        "XSUM %s: %s of %s split ids have an article in %s (%s articles of other splits ignored)",
        split,
        f"{len(ids):,}",
        f"{len(split_ids):,}",
        path,
        f"{ignored:,}",
    )
    examples = (Example(by_id[bbc_id][0], (by_id[bbc_id][1],)) for bbc_id in ids)
    return XsumExamples(examples, split, ids, len(split_ids))


def load_xsum_pairs(
    data_dir: str | os.PathLike[str],
    split: str,
    articles: str | os.PathLike[str] | None = None,
) -> XsumExamples:
    """Training pairs: XSUM has one reference per article, so the same as `load_xsum`."""
    return load_xsum(data_dir, split, articles)


def load_xsum_from_hub(split: str, revision: str | None = None) -> XsumExamples:
    """The full split from the Hugging Face hub (`EdinburghNLP/xsum`); needs a network.

    Examples come in the hub's order (`.ids` says which article each is); `revision` pins a hub
    commit. Not used by the offline test suite.
    """
    from datasets import load_dataset  # lazy: only users with a network pay for the import

    split = _our_split(split)
    dataset = load_dataset(XSUM_HUB_DATASET, split=XSUM_SPLITS[split], revision=revision)
    rows = [
        _article_fields(row, f"{XSUM_HUB_DATASET}[{split}]", index)
        for index, row in enumerate(dataset)
    ]
    if len(rows) != XSUM_EXPECTED_IDS[split]:
        raise DataFileError(
            f"{XSUM_HUB_DATASET} {split}: {len(rows):,} rows, expected {XSUM_EXPECTED_IDS[split]:,}"
        )
    examples = (Example(document, (summary,)) for _, document, summary in rows)
    return XsumExamples(examples, split, [bbc_id for bbc_id, _, _ in rows], len(rows))


def content_hash(
    data_dir: str | os.PathLike[str],
    split: str,
    articles: str | os.PathLike[str] | None = None,
) -> str:
    """First 12 hex digits of a sha256 over the split file and the articles file."""
    split_file = _checked_file(data_dir, XSUM_SPLIT_FILE)
    path = Path(articles) if articles is not None else articles_path(data_dir, _our_split(split))
    if not path.is_file():
        raise DataFileError(f"no XSUM {split} articles: {path} not found")
    return _sha256_prefix((split_file, path.resolve()))


# --- extrapolation (paper §6.4 / ACL A.1) -------------------------------------------------------
_BBC_PATH = re.compile(r"bbc\.co(?:m|\.uk)/([^?#\s]*)")
_TRAILING_ID = re.compile(r"-?(\d+)/*$")
# Path segments that are page types, not topics: `sport/0/football/...` (old sport URLs),
# `news/av/uk-...` (video pages), `news/live/...` (live pages).
_NON_TOPIC_SEGMENTS = frozenset({"av", "live"})


def parse_bbc_url(url: str) -> tuple[str, str, str]:
    """One line of `XSum-WebArxiveUrls-BBCids.txt` -> (bbc id, section, subdomain).

    The id is the trailing number; the section is the first path segment after bbc.co.uk/ or
    bbc.com/ ("news", "sport", ...). For news the subdomain is the token after "news/" without the
    trailing id, cut at its first hyphen (`news/world-europe-123` -> "world", `news/uk-england-
    london-123` -> "uk", `news/business-123` -> "business"); for sport it is the sport
    (`sport/football/123` and `sport/0/football/123` -> "football"). "" when the URL has none.

    Raises:
        ValueError: the line holds no BBC URL or no trailing id.
    """
    matches = _BBC_PATH.findall(url.strip())
    if not matches:
        raise ValueError(f"not a BBC URL: {url!r}")
    path = matches[-1]  # the archived URL, after any web.archive.org prefix
    id_match = _TRAILING_ID.search(path)
    if id_match is None:
        raise ValueError(f"no trailing article id in {url!r}")
    bbc_id = id_match.group(1)
    segments = [segment for segment in path[: id_match.start()].split("/") if segment]
    section = segments[0] if segments else ""
    rest = [s for s in segments[1:] if not s.isdigit() and s not in _NON_TOPIC_SEGMENTS]
    subdomain = rest[0].split("-")[0] if rest else ""
    return bbc_id, section, subdomain


def read_bbc_topics(path: str | os.PathLike[str]) -> dict[str, tuple[str, str]]:
    """`XSum-WebArxiveUrls-BBCids.txt` -> {bbc id: (section, subdomain)} (see `parse_bbc_url`).

    Blank lines are skipped; a line without a BBC URL and id is a DataFileError naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise DataFileError(
            f"BBC URL list not found: {path}; it is XSum-WebArxiveUrls-BBCids.txt of the original "
            "release (EdinburghNLP/XSum, XSum-Dataset/)"
        )
    topics: dict[str, tuple[str, str]] = {}
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                bbc_id, section, subdomain = parse_bbc_url(line)
            except ValueError as error:
                raise DataFileError(f"{path}, line {number}: {error}") from error
            topics[bbc_id] = (section, subdomain)
    return topics


def extrapolation_split(
    split_ids: Mapping[str, Sequence[str]],
    topics: Mapping[str, tuple[str, str]],
    setting: str,
) -> dict[str, list[str]]:
    """Ids of the extrapolation splits, each in the order of `split_ids`.

    Args:
        split_ids: the official split, {"train", "dev", "test"} -> ids (`xsum_split_ids`); the key
            "validation" is accepted for "dev".
        topics: `read_bbc_topics` output.
        setting: "news-to-sports": train/dev = news articles of the official train/dev, test =
            sport articles of the official test. "within-news": train/dev = news articles of the
            {world, uk, business} subdomains, test = news articles of every other (known)
            subdomain of the official test.

    The paper gives neither split sizes nor whether official split membership was kept; this keeps
    it (no article moves between train and test), and ids without a topic or, for within-news,
    without a subdomain are left out (logged).
    """
    if setting not in EXTRAPOLATION_SETTINGS:
        raise ValueError(
            f"unknown extrapolation setting {setting!r}; expected one of "
            f"{', '.join(EXTRAPOLATION_SETTINGS)}"
        )
    official = {_our_split(name): list(ids) for name, ids in split_ids.items()}
    missing = sorted(set(XSUM_SPLITS) - set(official))
    if missing:
        raise ValueError(f"split_ids lacks the split(s) {missing}")

    def keep(bbc_id: str, part: str) -> bool:
        section, subdomain = topics[bbc_id]
        if setting == "news-to-sports":
            return section == ("sport" if part == "test" else "news")
        if section != "news" or not subdomain:
            return False
        return (subdomain in WITHIN_NEWS_TRAIN_SUBDOMAINS) == (part != "test")

    result = {}
    for part in XSUM_SPLITS:
        without_topic = sum(1 for bbc_id in official[part] if bbc_id not in topics)
        result[part] = [i for i in official[part] if i in topics and keep(i, part)]
        log.info(
            "XSUM %s %s: %s of %s ids (%s without a topic)",
            setting,
            part,
            f"{len(result[part]):,}",
            f"{len(official[part]):,}",
            f"{without_topic:,}",
        )
    return result


XSUM_URL_FILE = "XSum-WebArxiveUrls-BBCids.txt"  # the release's BBC URL list (topic of each id)


def load_xsum_extrapolation(
    data_dir: str | os.PathLike[str],
    setting: str,
    split: str,
    articles: str | os.PathLike[str] | None = None,
) -> XsumExamples:
    """The `split` examples of an extrapolation setting ("news-to-sports" or "within-news"): the
    official-split examples (`load_xsum`) whose topic, read from `<data_dir>/xsum/` +
    `XSUM_URL_FILE`, puts them in that part of the setting (`extrapolation_split`).

    Raises:
        DataFileError: the URL list or the articles are missing, or no available article falls in
            this part of the setting.
    """
    split = _our_split(split)
    topics = _topics(Path(data_dir) / "xsum" / XSUM_URL_FILE)
    wanted = set(extrapolation_split(xsum_split_ids(data_dir), topics, setting)[split])
    examples = load_xsum(data_dir, split, articles)
    kept = [(bbc_id, ex) for bbc_id, ex in zip(examples.ids, examples) if bbc_id in wanted]
    if not kept:
        raise DataFileError(
            f"XSUM {setting} {split}: none of the {examples.found:,} available {split} articles "
            f"is in this part of the setting (check {XSUM_URL_FILE} and the articles file)"
        )
    return XsumExamples((ex for _, ex in kept), split, [i for i, _ in kept], len(wanted))


def extrapolation_content_hash(
    data_dir: str | os.PathLike[str], split: str, articles: str | os.PathLike[str] | None = None
) -> str:
    """`content_hash` of the split and articles, with the BBC URL list hashed in."""
    url_file = Path(data_dir) / "xsum" / XSUM_URL_FILE
    if not url_file.is_file():
        raise DataFileError(f"BBC URL list not found: {url_file}")
    digest = hashlib.sha256(content_hash(data_dir, split, articles).encode())
    digest.update(_sha256_prefix((url_file.resolve(),)).encode())
    return digest.hexdigest()[:12]


@functools.cache
def _topics(path: Path) -> dict[str, tuple[str, str]]:
    return read_bbc_topics(path)


# --- internals ----------------------------------------------------------------------------------
def _split_key(split: str) -> str:
    return XSUM_SPLITS[_our_split(split)]


def _our_split(split: str) -> str:
    if split == "validation":
        return "dev"
    if split not in XSUM_SPLITS:
        raise ValueError(f"unknown XSUM split {split!r}; expected one of train, dev, test")
    return split


def _checked_file(data_dir: str | os.PathLike[str], name: str) -> Path:
    path = Path(data_dir) / "xsum" / name
    if not path.is_file():
        raise DataFileError(f"XSUM file not found: {path}; {_FIX_HINT}")
    return path.resolve()


@functools.cache
def _split_ids(path: Path) -> dict[str, tuple[str, ...]]:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, OSError) as error:
        raise DataFileError(f"{path}: not a readable JSON file ({error}); {_FIX_HINT}") from error
    if not isinstance(raw, dict) or not all(key in raw for key in XSUM_SPLITS.values()):
        raise DataFileError(f"{path}: expected keys train, validation, test; {_FIX_HINT}")
    found = {split: len(raw[key]) for split, key in XSUM_SPLITS.items()}
    if found != XSUM_EXPECTED_IDS:
        raise DataFileError(
            f"{path}: split sizes {found}, expected {XSUM_EXPECTED_IDS}; not the official "
            f"90-5-5 split; {_FIX_HINT}"
        )
    return {key: tuple(str(bbc_id) for bbc_id in raw[key]) for key in XSUM_SPLITS.values()}


def _article_fields(row: Mapping[str, Any], where: str, index: int) -> tuple[str, str, str]:
    """(id, source, reference) of one article record; DataFileError if a field is missing."""
    try:
        bbc_id, document, summary = row["id"], row["document"], row["summary"]
    except (KeyError, TypeError) as error:
        raise DataFileError(
            f"{where}, record {index + 1}: expected fields 'document', 'summary' and 'id' "
            f"(Hugging Face EdinburghNLP/xsum layout)"
        ) from error
    if not isinstance(document, str) or not isinstance(summary, str):
        raise DataFileError(f"{where}, record {index + 1}: 'document'/'summary' are not strings")
    return str(bbc_id), _LINE_BREAKS.sub(" ", document).strip(), summary.strip()


@functools.cache
def _read_articles(path: Path) -> dict[str, tuple[str, str]]:
    """id -> (source, reference) of every article of a JSONL file. Cached per process."""
    by_id: dict[str, tuple[str, str]] = {}
    try:
        with open(path, encoding="utf-8") as handle:
            for index, line in enumerate(handle):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as error:
                    raise DataFileError(
                        f"{path}, line {index + 1}: not JSON ({error}); expected one article "
                        f"object per line"
                    ) from error
                bbc_id, document, summary = _article_fields(row, str(path), index)
                if bbc_id in by_id:
                    raise DataFileError(f"{path}, line {index + 1}: article id {bbc_id} repeated")
                by_id[bbc_id] = (document, summary)
    except (UnicodeDecodeError, OSError) as error:
        raise DataFileError(f"{path}: not a readable UTF-8 file ({error})") from error
    return by_id


def _summary_key(text: str) -> str:
    # Compares a cased JSONL summary with its lower-cased, PTB-tokenised gold line: PTB spells
    # brackets -lrb- etc. and currency # / $, so keep letters and digits only (1,000/1,000 match).
    text = re.sub(r"-[lr][rsc]b-", " ", text.lower())
    return re.sub(r"[^a-z0-9]", "", text)


def _check_against_gold(
    data_dir: str | os.PathLike[str],
    split_ids: Sequence[str],
    ids: Sequence[str],
    by_id: Mapping[str, tuple[str, str]],
    articles: Path,
) -> None:
    gold_path = Path(data_dir) / "xsum" / XSUM_GOLD_TEST_FILE
    if not gold_path.is_file():
        log.warning("%s not found: test summaries not checked against the release", gold_path)
        return
    gold = _gold_lines(gold_path.resolve())
    if len(gold) != len(split_ids):
        raise DataFileError(
            f"{gold_path}: {len(gold):,} lines, expected {len(split_ids):,} (one per test id); "
            f"{_FIX_HINT}"
        )
    position = {bbc_id: index for index, bbc_id in enumerate(split_ids)}
    for bbc_id in ids:
        line = position[bbc_id]
        if _summary_key(by_id[bbc_id][1]) != _summary_key(gold[line]):
            raise DataFileError(
                f"{articles}: the summary of article {bbc_id} differs from its official gold "
                f"summary ({gold_path.name} line {line + 1}); the articles are not the XSUM "
                f"release text"
            )


@functools.cache
def _gold_lines(path: Path) -> tuple[str, ...]:
    # Split on "\n" only: str.splitlines would also break at rare characters inside a summary.
    with open(path, encoding="utf-8", newline="") as handle:
        lines = handle.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return tuple(line.rstrip("\r") for line in lines)


@functools.cache
def _sha256_prefix(paths: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.name.encode("utf-8") + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


# ---- registry entries: XSUM and its two extrapolation splits (ACL Table 4 / v1 Table 3) --------


def _score(hyps: list[str], refs: list[list[str]], data_dir: Path, split: str) -> dict:
    from benchmark.metrics.rouge import score_xsum

    return score_xsum(hyps, refs)


def _provenance() -> dict[str, str]:
    from benchmark.metrics.rouge import xsum_provenance

    return xsum_provenance()


DATASET = DatasetSpec(
    load=lambda d, s: list(load_xsum(d, s)),
    load_pairs=lambda d, s: list(load_xsum_pairs(d, s)),
    content_hash=content_hash,
    version=f"xsum-{XSUM_VERSION}",
    score=_score,
    scorer_provenance=_provenance,
    metrics=("rouge1", "rouge2", "rougeL"),
)


def _extrapolation(setting: str) -> DatasetSpec:
    return DatasetSpec(
        load=lambda d, s: load_xsum_extrapolation(d, setting, s),
        load_pairs=lambda d, s: load_xsum_extrapolation(d, setting, s),
        content_hash=extrapolation_content_hash,
        version=f"xsum-{XSUM_VERSION}-{setting}",
        score=_score,
        scorer_provenance=_provenance,
        metrics=("rouge1", "rouge2", "rougeL"),
    )


NEWS2SPORTS = _extrapolation("news-to-sports")  # names as in the paper table (reference CSV)
WITHINNEWS = _extrapolation("within-news")
REGISTER = {
    "xsum": (
        "DATASET",
        "XSUM (official split ids; articles from a JSONL you provide or the hub); ROUGE-1/2/L",
    ),
    "xsum-news2sports": (
        "NEWS2SPORTS",
        "XSUM news-to-sports extrapolation (topics from the BBC URL list); ROUGE-1/2/L",
    ),
    "xsum-withinnews": (
        "WITHINNEWS",
        "XSUM within-news extrapolation (topics from the BBC URL list); ROUGE-1/2/L",
    ),
}
