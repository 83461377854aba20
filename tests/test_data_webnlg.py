"""WebNLG 2017 loader: split sizes, the anchor's linearisation, seen/unseen split, clear errors.

Reads the real challenge XML from $BENCHMARK_DATA_DIR, else <repo>/../shared/data; skipped without.
"""

from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pytest

from benchmark.data import training_pairs
from benchmark.data.webnlg import (
    WEBNLG_EXPECTED_EXAMPLES,
    WEBNLG_EXPECTED_GOOD_LEX,
    WEBNLG_EXPECTED_LEX,
    WEBNLG_SEEN_CATEGORIES,
    WEBNLG_UNSEEN_CATEGORIES,
    content_hash,
    linearize_triples,
    load_webnlg,
    load_webnlg_pairs,
    webnlg_entries,
    webnlg_seen_mask,
    webnlg_test_categories,
)
from benchmark.errors import DataFileError

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = data_root()
    need_data(
        (path / "webnlg" / "test" / "testdata_with_lex.xml").is_file(),
        f"WebNLG files not found under {path}/webnlg (set BENCHMARK_DATA_DIR)",
    )
    return path


# ----------------------------------------------------------------------------- sizes and order


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_split_sizes(data_dir: Path, split: str) -> None:
    entries = webnlg_entries(data_dir, split)
    assert sum(len(e.lexicalisations) for e in entries) == WEBNLG_EXPECTED_LEX[split]
    assert len(load_webnlg(data_dir, split)) == WEBNLG_EXPECTED_EXAMPLES[split]
    pairs = load_webnlg_pairs(data_dir, split)
    assert len(pairs) == WEBNLG_EXPECTED_GOOD_LEX[split]
    # The grouped examples and the training pairs are the same data.
    assert training_pairs(load_webnlg(data_dir, split)) == pairs


def test_paper_numbers(data_dir: Path) -> None:
    assert len(load_webnlg_pairs(data_dir, "train")) == 18_025  # "good" lexicalisations only
    test = load_webnlg(data_dir, "test")
    assert len(test) == 1_862
    assert sum(len(ex.references) for ex in test) == 4_928


def test_anchor_linearisation(data_dir: Path) -> None:
    test = load_webnlg(data_dir, "test")
    assert test[0].source == " | Abilene_Regional_Airport : cityServed : Abilene,_Texas"
    assert test[0].references == (
        "Abilene, Texas is served by the Abilene regional airport.",
        "Abilene Regional Airport serves the city of Abilene in Texas.",
    )
    for split in ("train", "dev", "test"):
        for entry, example in zip(
            [
                e
                for e in webnlg_entries(data_dir, split)
                if any(c == "good" for c, _ in e.lexicalisations)
            ],
            load_webnlg(data_dir, split),
        ):
            # " | " before every triple, the first included; one separator per triple.
            assert example.source.startswith(" | ")
            assert example.source.count(" | ") >= len(entry.triples)
            assert example.source == linearize_triples(entry.triples)


def test_linearize_triples() -> None:
    triples = [
        ("Aarhus", "leaderName", "Jacob_Bundsgaard"),
        ("Aarhus_Airport", "cityServed", "Aarhus"),
    ]
    assert linearize_triples(triples) == (
        " | Aarhus : leaderName : Jacob_Bundsgaard | Aarhus_Airport : cityServed : Aarhus"
    )


def test_only_good_lexicalisations_train(data_dir: Path) -> None:
    entries = webnlg_entries(data_dir, "train")
    bad = {text for e in entries for comment, text in e.lexicalisations if comment != "good"}
    assert len(bad) > 0
    kept = {ex.references[0] for ex in load_webnlg_pairs(data_dir, "train")}
    good = {text for e in entries for comment, text in e.lexicalisations if comment == "good"}
    assert kept == good  # every good one kept; a toFix text survives only if also marked good


# ----------------------------------------------------------------------------- seen / unseen


def test_seen_mask(data_dir: Path) -> None:
    categories = webnlg_test_categories(data_dir)
    mask = webnlg_seen_mask(data_dir)
    assert len(categories) == len(mask) == 1_862
    assert sum(mask) == 971 and mask.count(False) == 891
    assert set(categories) == WEBNLG_SEEN_CATEGORIES | WEBNLG_UNSEEN_CATEGORIES
    # "seen" means: a category of the training data.
    train_categories = {e.category for e in webnlg_entries(data_dir, "train")}
    assert train_categories == WEBNLG_SEEN_CATEGORIES
    assert Counter(c for c, seen in zip(categories, mask) if not seen) == {
        "Artist": 213,
        "Politician": 209,
        "MeanOfTransportation": 198,
        "Athlete": 159,
        "CelestialBody": 112,
    }


def test_a_limited_run_scores_half_seen_half_unseen_spread_over_categories(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from benchmark.data import DATASETS
    from benchmark.data.webnlg import webnlg_eval_indices

    mask, categories = webnlg_seen_mask(data_dir), webnlg_test_categories(data_dir)
    picked = webnlg_eval_indices(data_dir, 100)
    assert picked == sorted(set(picked)) and len(picked) == 100
    assert sum(mask[i] for i in picked) == 50  # the first 100 inputs would all be seen
    assert {categories[i] for i in picked} == WEBNLG_SEEN_CATEGORIES | WEBNLG_UNSEEN_CATEGORIES
    assert webnlg_eval_indices(data_dir, 5_000) == list(range(1_862))
    assert [mask[i] for i in webnlg_eval_indices(data_dir, 3)] == [True, True, False]

    # the runner's selection and the scorer's seen/unseen labels line up, input for input
    webnlg = DATASETS.get("webnlg")
    examples = webnlg.limit_eval(data_dir, load_webnlg(data_dir, "test"), 10)
    everything = load_webnlg(data_dir, "test")
    assert examples == [everything[i] for i in webnlg_eval_indices(data_dir, 10)]
    captured = {}

    def fake_score(hyps, refs, seen):
        captured.update(hyps=hyps, seen=seen)
        return {}

    monkeypatch.setattr("benchmark.metrics.webnlg.score_webnlg", fake_score)
    hyps = [ex.source for ex in examples]
    webnlg.score(hyps, [list(ex.references) for ex in examples], data_dir, "test")
    source_seen = {ex.source: mask[i] for i, ex in enumerate(everything)}
    assert captured["seen"] == [source_seen[h] for h in hyps] == [True] * 5 + [False] * 5


def test_unseen_part_equals_official_unseen_file(data_dir: Path) -> None:
    """`testdata_unseen_with_lex.xml` is the U part: same inputs, same order."""
    unseen_file = data_dir / "webnlg" / "test" / "testdata_unseen_with_lex.xml"
    if not unseen_file.is_file():
        pytest.skip("testdata_unseen_with_lex.xml not present")
    official = [
        linearize_triples(
            [tuple(t.text.strip().split(" | ")) for t in entry.iter("mtriple")]  # type: ignore[misc]
        )
        for entry in ET.parse(unseen_file).getroot().iter("entry")
    ]
    ours = [
        ex.source
        for ex, seen in zip(load_webnlg(data_dir, "test"), webnlg_seen_mask(data_dir))
        if not seen
    ]
    assert ours == official


# ----------------------------------------------------------------------------- hashes and errors


def test_content_hash(data_dir: Path) -> None:
    hashes = {split: content_hash(data_dir, split) for split in ("train", "dev", "test")}
    assert all(len(h) == 12 and int(h, 16) >= 0 for h in hashes.values())
    assert len(set(hashes.values())) == 3
    assert content_hash(str(data_dir), "test") == hashes["test"]


def test_missing_files_error(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match=r"WebNLG test data not found at .*testdata_with_lex"):
        load_webnlg(tmp_path, "test")
    with pytest.raises(DataFileError, match="WebNLG train data not found"):
        load_webnlg_pairs(tmp_path, "train")
    with pytest.raises(ValueError, match="unknown WebNLG split"):
        load_webnlg(tmp_path, "valid")


def test_truncated_test_file_error(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "webnlg" / "test"
    target.mkdir(parents=True)
    tree = ET.parse(data_dir / "webnlg" / "test" / "testdata_with_lex.xml")
    entries = tree.getroot().find("entries")
    assert entries is not None
    entries.remove(entries[-1])
    tree.write(target / "testdata_with_lex.xml", encoding="utf-8")
    with pytest.raises(DataFileError, match=r"entries 1,861 \(expected 1,862\)"):
        load_webnlg(tmp_path, "test")


def test_malformed_xml_error(data_dir: Path, tmp_path: Path) -> None:
    target = tmp_path / "webnlg" / "test"
    target.mkdir(parents=True)
    shutil.copy(data_dir / "webnlg" / "test" / "testdata_with_lex.xml", target)
    path = target / "testdata_with_lex.xml"
    path.write_text(path.read_text(encoding="utf-8")[:5000], encoding="utf-8")
    with pytest.raises(DataFileError, match="not a readable XML file"):
        load_webnlg(tmp_path, "test")
