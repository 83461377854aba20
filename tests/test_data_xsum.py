"""XSUM loader: official split order, partial article files, gold check, extrapolation topics.

Reads the real XSUM files from $BENCHMARK_DATA_DIR, else <repo>/../shared/data; skipped without
them. The BBC URL tests use the small fixture tests/fixtures/xsum_urls_sample.txt (release format).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.data.xsum import (
    articles_path,
    content_hash,
    extrapolation_split,
    load_xsum,
    load_xsum_pairs,
    parse_bbc_url,
    read_bbc_topics,
    xsum_split_ids,
)
from benchmark.errors import DataFileError

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]
URLS = Path(__file__).resolve().parent / "fixtures" / "xsum_urls_sample.txt"


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = data_root()
    need_data(
        (path / "xsum" / "test.jsonl").is_file(),
        f"XSUM files not found under {path}/xsum (set BENCHMARK_DATA_DIR)",
    )
    return path


def _jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _raw_articles(data_dir: Path) -> list[dict]:
    with open(data_dir / "xsum" / "test.jsonl", encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


# ----------------------------------------------------------------------------- split and loading


def test_split_sizes(data_dir: Path) -> None:
    split = xsum_split_ids(data_dir)
    assert {name: len(ids) for name, ids in split.items()} == {
        "train": 204_045,
        "dev": 11_332,
        "test": 11_334,
    }
    assert len(set(split["train"]) | set(split["dev"]) | set(split["test"])) == 226_711


def test_test_articles_in_split_order(data_dir: Path) -> None:
    test = load_xsum(data_dir, "test")
    assert (len(test), test.found, test.total, test.split) == (1_000, 1_000, 11_334, "test")
    position = {bbc_id: i for i, bbc_id in enumerate(xsum_split_ids(data_dir)["test"])}
    positions = [position[bbc_id] for bbc_id in test.ids]
    assert positions == sorted(positions) and len(set(test.ids)) == 1_000
    raw = {str(row["id"]): row for row in _raw_articles(data_dir)}
    first = raw[test.ids[0]]
    assert test[0].references == (first["summary"].strip(),)  # original casing
    assert test[0].source == " ".join(part.strip() for part in first["document"].split("\n"))
    assert not any("\n" in ex.source for ex in test)
    assert load_xsum_pairs(data_dir, "test") == test


def test_partial_articles_and_ids_of_other_splits(data_dir: Path, tmp_path: Path) -> None:
    rows = _raw_articles(data_dir)[:3]
    stranger = {"document": "Text.", "summary": "Summary.", "id": 1}  # in no split
    articles = _jsonl(tmp_path / "few.jsonl", [rows[2], stranger, rows[0], rows[1]])
    test = load_xsum(data_dir, "test", articles=articles)
    assert (test.found, test.total) == (3, 11_334)
    assert set(test.ids) == {str(row["id"]) for row in rows}
    assert len(content_hash(data_dir, "test", articles=articles)) == 12
    assert content_hash(data_dir, "test", articles=articles) != content_hash(data_dir, "test")


def test_summaries_are_checked_against_gold(data_dir: Path, tmp_path: Path) -> None:
    rows = _raw_articles(data_dir)[:2]
    rows[0]["summary"], rows[1]["summary"] = rows[1]["summary"], rows[0]["summary"]
    with pytest.raises(DataFileError, match="differs from its official gold summary"):
        load_xsum(data_dir, "test", articles=_jsonl(tmp_path / "swapped.jsonl", rows))


def test_missing_articles_say_where_to_get_them(data_dir: Path) -> None:
    with pytest.raises(DataFileError) as error:
        load_xsum(data_dir, "train")
    message = str(error.value)
    assert str(articles_path(data_dir, "train")) in message
    assert "EdinburghNLP/xsum" in message and "load_xsum_from_hub" in message
    # Articles exist, but none belongs to the split: also an error, not an empty list.
    with pytest.raises(DataFileError, match="none of the 1,000 articles"):
        load_xsum(data_dir, "validation", articles=data_dir / "xsum" / "test.jsonl")
    assert articles_path(data_dir, "dev").name == "validation.jsonl"


def test_malformed_articles(data_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="expected fields 'document', 'summary' and 'id'"):
        load_xsum(data_dir, "test", articles=_jsonl(tmp_path / "a.jsonl", [{"text": "x"}]))
    bad = tmp_path / "b.jsonl"
    bad.write_text("{not json\n", encoding="utf-8")
    with pytest.raises(DataFileError, match="line 1: not JSON"):
        load_xsum(data_dir, "test", articles=bad)
    with pytest.raises(DataFileError, match="XSUM file not found"):
        load_xsum(tmp_path, "test", articles=bad)
    with pytest.raises(ValueError, match="unknown XSUM split"):
        load_xsum(data_dir, "valid")


# ----------------------------------------------------------------------------- extrapolation


def test_parse_bbc_url() -> None:
    archive = "http://web.archive.org/web/20161229133034/"
    assert parse_bbc_url(archive + "http://www.bbc.com/news/world-europe-38458924") == (
        "38458924",
        "news",
        "world",
    )
    assert (
        parse_bbc_url(archive + "http://www.bbc.co.uk/news/uk-england-london-32145678")[2] == "uk"
    )
    assert parse_bbc_url(archive + "http://www.bbc.com/news/business-36321456")[2] == "business"
    assert parse_bbc_url(archive + "http://www.bbc.co.uk/sport/0/football/36776069") == (
        "36776069",
        "sport",
        "football",
    )
    assert parse_bbc_url(archive + "http://www.bbc.com/news/10604117") == ("10604117", "news", "")
    with pytest.raises(ValueError, match="not a BBC URL"):
        parse_bbc_url("http://example.com/news/world-1")


def test_read_bbc_topics_fixture() -> None:
    topics = read_bbc_topics(URLS)
    assert len(topics) == 13  # 14 lines, one blank
    assert topics["38458924"] == ("news", "world")
    assert topics["34212345"] == ("news", "world")  # world-us-canada
    assert topics["35231234"] == ("news", "uk")  # uk-scotland-glasgow-west
    assert topics["39866396"] == ("sport", "football")
    assert topics["37161234"] == ("sport", "cricket")
    assert topics["37712345"] == ("news", "entertainment")
    assert sum(section == "sport" for section, _ in topics.values()) == 3


def test_read_bbc_topics_errors(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="XSum-WebArxiveUrls-BBCids.txt"):
        read_bbc_topics(tmp_path / "absent.txt")
    bad = tmp_path / "urls.txt"
    bad.write_text(
        URLS.read_text(encoding="utf-8") + "http://www.bbc.com/news/\n", encoding="utf-8"
    )
    with pytest.raises(DataFileError, match=r"line 15: no trailing article id"):
        read_bbc_topics(bad)


def test_extrapolation_splits() -> None:
    topics = read_bbc_topics(URLS)
    split = {
        "train": ["38458924", "36776069", "35701234", "32145678", "99999999"],  # 9999: no URL
        "validation": ["36321456", "39866396", "10604117"],
        "test": ["38601234", "37161234", "34212345", "37712345", "34791234", "35231234"],
    }
    news_to_sports = extrapolation_split(split, topics, "news-to-sports")
    assert news_to_sports == {
        "train": ["38458924", "35701234", "32145678"],
        "dev": ["36321456", "10604117"],
        "test": ["37161234"],
    }
    within_news = extrapolation_split(split, topics, "within-news")
    assert within_news == {
        "train": ["38458924", "32145678"],  # world, uk (technology is not a train subdomain)
        "dev": ["36321456"],  # business (sport, and news without a subdomain, left out)
        "test": ["38601234", "37712345", "34791234"],  # health, entertainment, education
    }
    with pytest.raises(ValueError, match="unknown extrapolation setting"):
        extrapolation_split(split, topics, "sports-to-news")
