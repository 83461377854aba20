"""DART v1.1.1 loader: sizes, the anchor's linearisation, XML = JSON on dev, train fetch (offline).

Reads the real DART files from $BENCHMARK_DATA_DIR, else <repo>/../shared/data; skipped without
them. The fetch tests serve a small JSON file through a file:// URL.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmark.data import training_pairs
from benchmark.data.dart import (
    DART_TRAIN_URL,
    content_hash,
    fetch_dart,
    linearize_tripleset,
    load_dart,
    load_dart_pairs,
    read_dart_file,
)
from benchmark.errors import DataFileError, FetchError

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = data_root()
    need_data(
        (path / "dart" / "dart-v1.1.1-full-test.xml").is_file(),
        f"DART files not found under {path}/dart (set BENCHMARK_DATA_DIR)",
    )
    return path


def test_sizes(data_dir: Path) -> None:
    dev, test = load_dart(data_dir, "dev"), load_dart(data_dir, "test")
    assert len(dev) == 2_768 and sum(len(ex.references) for ex in dev) == 6_980
    # 12,552 lexicalisations in the XML, one of them empty (Id116) and dropped.
    assert len(test) == 5_097 and sum(len(ex.references) for ex in test) == 12_551
    assert len(load_dart_pairs(data_dir, "dev")) == 6_980
    assert training_pairs(test) == load_dart_pairs(data_dir, "test")
    assert all(ref.strip() for ex in test for ref in ex.references)


def test_anchor_linearisation(data_dir: Path) -> None:
    dev = load_dart(data_dir, "dev")
    assert dev[0].source == (
        "Mars Hill College : joined : 1973 | Mars Hill College : location : Mars Hill, North Carolina"
    )
    assert dev[0].references == ("A school from Mars Hill, North Carolina, joined in 1973.",)
    test = load_dart(data_dir, "test")
    assert test[0].source == (
        "Hawaii Five-O : notes : Episode: The Flight of the Jewels | [TABLECONTEXT] : [title] : "
        "Jeff Daniels | [TABLECONTEXT] : title : Hawaii Five-O"
    )
    assert not any(ex.source.startswith(" | ") for ex in dev + test)


def test_linearize_lowercases_relations_only() -> None:
    assert linearize_tripleset([["A B", "NO._OF_CHANNELS", "C D"], ["E", "Year", "1982"]]) == (
        "A B : no._of_channels : C D | E : year : 1982"
    )


def test_xml_reader_equals_json_on_dev(data_dir: Path) -> None:
    """Test comes from the XML; on dev, where both exist, the XML gives the JSON's data exactly."""
    xml = read_dart_file(data_dir / "dart" / "dart-v1.1.1-full-dev.xml")
    js = read_dart_file(data_dir / "dart" / "dart-v1.1.1-full-dev.json")
    assert len(xml) == len(js) == 2_768
    assert [linearize_tripleset(t) for t, _ in xml] == [linearize_tripleset(t) for t, _ in js]
    assert [texts for _, texts in xml] == [texts for _, texts in js]


def test_content_hash(data_dir: Path) -> None:
    dev, test = content_hash(data_dir, "dev"), content_hash(data_dir, "test")
    assert len(dev) == len(test) == 12 and dev != test


def test_train_missing_is_a_clear_error(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "dart").mkdir()
    with pytest.raises(DataFileError) as error:
        load_dart(tmp_path, "train")
    message = str(error.value)
    assert "dart-v1.1.1-full-train.json" in message and "benchmark fetch dart" in message
    assert DART_TRAIN_URL in message and "Yale-LILY/dart" in DART_TRAIN_URL
    assert DART_TRAIN_URL.endswith("data/v1.1.1/dart-v1.1.1-full-train.json")
    assert "\n" not in message
    with pytest.raises(DataFileError, match="DART test file not found"):
        load_dart(tmp_path, "test")
    with pytest.raises(ValueError, match="unknown DART split"):
        load_dart(tmp_path, "valid")


def _tiny_release(folder: Path) -> Path:
    entries = [
        {
            "tripleset": [["Mars Hill College", "JOINED", "1973"]],
            "subtree_was_extended": False,
            "annotations": [{"source": "WikiSQL_decl_sents", "text": "It joined in 1973."}],
        }
    ]
    path = folder / "release.json"
    path.write_text(json.dumps(entries), encoding="utf-8")
    return path


def test_fetch_dart_offline(tmp_path: Path) -> None:
    source = _tiny_release(tmp_path)
    dest = tmp_path / "data"
    path = fetch_dart(dest, url=source.as_uri())
    assert path == dest / "dart" / "dart-v1.1.1-full-train.json"
    assert path.read_bytes() == source.read_bytes()
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary file left
    source.unlink()
    assert fetch_dart(dest, url=source.as_uri()) == path  # present: not downloaded again
    # A file that is not the 62,659-annotation release is refused by the loader, clearly.
    with pytest.raises(DataFileError, match=r"1 annotations.*62,659 annotations"):
        load_dart_pairs(dest, "train")


def test_fetch_dart_refuses_a_wrong_file(tmp_path: Path) -> None:
    wrong = tmp_path / "page.html"
    wrong.write_text("<html>404</html>", encoding="utf-8")
    dest = tmp_path / "data"
    with pytest.raises(FetchError, match="not a DART JSON file"):
        fetch_dart(dest, url=wrong.as_uri())
    with pytest.raises(FetchError, match="could not download"):
        fetch_dart(dest, url=(tmp_path / "absent.json").as_uri())
    assert list((dest / "dart").iterdir()) == []  # nothing half-written
