"""E2E loader: split sizes, the authors' linearisation on every dev/test row, clear errors, fetch.

Reads the real E2E files from $BENCHMARK_DATA_DIR, else <repo>/../shared/data; skipped without them.
The fetch tests build a release zip from those files and fetch it through a file:// URL (offline).
"""

from __future__ import annotations

import shutil
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from benchmark.data import resolve_data_dir, training_pairs
from benchmark.data.e2e import (
    E2E_EXPECTED_MRS,
    E2E_EXPECTED_PAIRS,
    E2E_SPLITS,
    content_hash,
    linearize_mr,
    load_e2e,
    load_e2e_pairs,
)
from benchmark.data.fetch import E2E_GIT_BLOBS, fetch_e2e, git_blob_sha1
from benchmark.errors import DataDirError, DataError, DataFileError, FetchError

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def data_dir() -> Path:
    path = data_root()
    need_data(
        all((path / "e2e" / name).is_file() for name in E2E_SPLITS.values()),
        f"E2E files not found under {path}/e2e (set BENCHMARK_DATA_DIR)",
    )
    return path


def _authors_sources(data_dir: Path, split: str) -> list[str]:
    """Sources of the authors' preprocessed file, one per CSV row (format `source||target`)."""
    name = {"dev": "src1_valid.txt", "test": "src1_test.txt"}[split]
    path = data_dir / "e2e" / "prefixtuning_format" / name
    if not path.is_file():
        pytest.skip(f"authors' preprocessed file {path} not found")
    lines = path.read_text(encoding="utf-8").splitlines()
    return [line.split("||", 1)[0] for line in lines]


# ----------------------------------------------------------------------------- sizes and grouping


@pytest.mark.parametrize("split", list(E2E_SPLITS))
def test_split_sizes(data_dir: Path, split: str) -> None:
    grouped, pairs = load_e2e(data_dir, split), load_e2e_pairs(data_dir, split)
    assert len(pairs) == E2E_EXPECTED_PAIRS[split]
    assert len(grouped) == E2E_EXPECTED_MRS[split]
    assert len({example.source for example in grouped}) == len(grouped)  # no two MRs collide
    assert sum(len(example.references) for example in grouped) == len(pairs)
    assert all(len(example.references) == 1 for example in pairs)
    assert Counter(training_pairs(grouped)) == Counter(pairs)


def test_measured_counts_of_readme(data_dir: Path) -> None:
    # data/README.md §1: refs per MR 2-46 (train), 2-43 (dev), 1-45 (test); 116 duplicate test rows.
    for split, (low, high) in {"train": (2, 46), "dev": (2, 43), "test": (1, 45)}.items():
        counts = [len(example.references) for example in load_e2e(data_dir, split)]
        assert (min(counts), max(counts)) == (low, high)
    test_pairs = load_e2e_pairs(data_dir, "test")
    assert len(test_pairs) - len(set(test_pairs)) == 116  # duplicates kept, as released


def test_references_are_raw_csv_text(data_dir: Path) -> None:
    first = load_e2e(data_dir, "test")[0]
    assert first.source == "name : Blue Spice | Type : coffee shop | area : city centre"
    assert first.references[:2] == (
        "A coffee shop in the city centre area called Blue Spice.",
        "Blue Spice is a coffee shop in city centre.",
    )
    # Two train references contain a CRLF line break inside the quoted field; they survive intact.
    broken = [ex for ex in load_e2e_pairs(data_dir, "train") if "\r\n" in ex.references[0]]
    assert len(broken) == 2
    assert broken[0].references[0].endswith("This coffee shop is a high customer rating")


def test_content_hash_is_pinned(data_dir: Path) -> None:
    assert content_hash(data_dir, "train") == "f27d48df4581"
    assert content_hash(data_dir, "dev") == "fc26b78cdb84"
    assert content_hash(data_dir, "test") == "edc8db685e39"


def test_loads_are_cached_and_independent(data_dir: Path) -> None:
    first = load_e2e(data_dir, "dev")
    first.clear()  # a caller mutating its list must not change what the next caller gets
    assert load_e2e(data_dir, "dev") == load_e2e(str(data_dir) + "/", "dev")
    assert len(load_e2e(data_dir, "dev")) == 547


# ------------------------------------------------------------------------------- linearisation


@pytest.mark.parametrize("split", ["dev", "test"])
def test_linearisation_equals_authors_source_on_every_row(data_dir: Path, split: str) -> None:
    ours = [example.source for example in load_e2e_pairs(data_dir, split)]
    theirs = _authors_sources(data_dir, split)
    assert len(ours) == len(theirs) == E2E_EXPECTED_PAIRS[split]
    mismatches = [(i, a, b) for i, (a, b) in enumerate(zip(ours, theirs, strict=True)) if a != b]
    assert not mismatches, f"{len(mismatches)} rows differ, first: {mismatches[:3]}"


@pytest.mark.parametrize("split", ["dev", "test"])
def test_grouped_order_is_first_appearance(data_dir: Path, split: str) -> None:
    theirs = list(dict.fromkeys(_authors_sources(data_dir, split)))
    assert [example.source for example in load_e2e(data_dir, split)] == theirs


def test_linearize_mr_renames_and_tokenises() -> None:
    mr = (
        "name[The Vaults], eatType[pub], priceRange[more than £30], customer rating[5 out of 5], "
        "near[Café Adriatic], familyFriendly[yes]"
    )
    assert linearize_mr(mr) == (
        "name : The Vaults | Type : pub | price : more than £ 30 | customer rating : 5 out of 5 | "
        "near : Café Adriatic | family friendly : yes"
    )
    assert linearize_mr("name[Strada], priceRange[£20-25]") == "name : Strada | price : £ 20 - 25"


@pytest.mark.parametrize("mr", ["", "name[x],", "name[x] eatType[pub]", "name[x]], area[y]"])
def test_linearize_mr_rejects_malformed(mr: str) -> None:
    with pytest.raises(ValueError, match="E2E MR"):
        linearize_mr(mr)


# ------------------------------------------------------------------------------ errors, data dir


def test_resolve_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "other"
    other.mkdir()
    monkeypatch.setenv("BENCHMARK_DATA_DIR", str(other))
    assert resolve_data_dir(str(tmp_path)) == tmp_path  # the flag wins over the environment
    assert resolve_data_dir(None) == other
    with pytest.raises(DataDirError, match="does not exist"):
        resolve_data_dir(str(tmp_path / "missing"))
    monkeypatch.delenv("BENCHMARK_DATA_DIR")
    with pytest.raises(DataDirError, match="--data-dir") as error:
        resolve_data_dir(None)
    assert "\n" not in str(error.value)
    assert isinstance(error.value, DataError)


def test_missing_file_names_fix(tmp_path: Path) -> None:
    with pytest.raises(DataFileError, match="BENCHMARK_DATA_DIR.*fetch e2e") as error:
        load_e2e(tmp_path, "dev")
    assert "devset.csv" in str(error.value)


def test_truncated_file_is_one_clear_error(data_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "e2e").mkdir()
    original = (data_dir / "e2e" / "devset.csv").read_bytes()
    (tmp_path / "e2e" / "devset.csv").write_bytes(original[: len(original) // 3])
    with pytest.raises(DataFileError) as error:
        load_e2e_pairs(tmp_path, "dev")
    message = str(error.value)
    assert "devset.csv" in message and "4,672 rows" in message and "547 unique MRs" in message
    assert "truncated" in message and "fetch e2e" in message and "BENCHMARK_DATA_DIR" in message
    assert "\n" not in message


def test_wrong_columns_and_bad_mr(tmp_path: Path) -> None:
    (tmp_path / "e2e").mkdir()
    testset = tmp_path / "e2e" / "testset_w_refs.csv"
    testset.write_text('MR\n"name[Aromi]"\n', encoding="utf-8")  # testset.csv: MRs, no refs
    with pytest.raises(DataFileError, match="'mr' and 'ref'"):
        load_e2e(tmp_path, "test")
    with pytest.raises(ValueError, match="unknown E2E split"):
        load_e2e(tmp_path, "validation")


# ------------------------------------------------------------------------------------------ fetch


@pytest.fixture(scope="module")
def release_zip(data_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A zip laid out like the release (files inside a top folder, plus a macOS resource fork)."""
    path = tmp_path_factory.mktemp("release") / "e2e-dataset.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for name in E2E_GIT_BLOBS:
            archive.write(data_dir / "e2e" / name, f"e2e-dataset/{name}")
        archive.writestr("__MACOSX/e2e-dataset/._devset.csv", b"resource fork")
    return path


def test_expected_blobs_match_shared_copies(data_dir: Path) -> None:
    for name, blob in E2E_GIT_BLOBS.items():
        assert git_blob_sha1((data_dir / "e2e" / name).read_bytes()) == blob
    assert git_blob_sha1(b"") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # git's empty blob


def test_fetch_extracts_and_verifies(release_zip: Path, data_dir: Path, tmp_path: Path) -> None:
    written = fetch_e2e(tmp_path, url=release_zip.as_uri(), raw_url=None)
    assert sorted(written) == sorted(E2E_GIT_BLOBS)
    for name, path in written.items():
        assert path == tmp_path / "e2e" / name
        assert path.read_bytes() == (data_dir / "e2e" / name).read_bytes()
    assert not list((tmp_path / "e2e").glob("*.part"))
    assert len(load_e2e(tmp_path, "dev")) == 547
    # Everything present and verified: nothing is downloaded again (this URL would fail).
    assert fetch_e2e(tmp_path, url=(tmp_path / "nowhere.zip").as_uri()) == written


def test_fetch_falls_back_to_raw_file(data_dir: Path, tmp_path: Path) -> None:
    partial_zip = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial_zip, "w") as archive:
        archive.write(data_dir / "e2e" / "devset.csv", "e2e-dataset/devset.csv")
    (tmp_path / "dest" / "e2e").mkdir(parents=True)
    shutil.copy(data_dir / "e2e" / "trainset.csv", tmp_path / "dest" / "e2e" / "trainset.csv")
    raw = (data_dir / "e2e").as_uri() + "/"
    written = fetch_e2e(tmp_path / "dest", url=partial_zip.as_uri(), raw_url=raw)
    assert (
        written["testset_w_refs.csv"].read_bytes()
        == (data_dir / "e2e" / "testset_w_refs.csv").read_bytes()
    )


def test_fetch_rejects_a_modified_file(data_dir: Path, tmp_path: Path) -> None:
    bad_zip = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad_zip, "w") as archive:
        for name in E2E_GIT_BLOBS:
            data = (data_dir / "e2e" / name).read_bytes()
            archive.writestr(
                name, data.replace(b"Alimentum", b"Alimentun") if "dev" in name else data
            )
    with pytest.raises(FetchError, match="devset.csv.*differs") as error:
        fetch_e2e(tmp_path / "dest", url=bad_zip.as_uri(), raw_url=None)
    assert "\n" not in str(error.value)
    assert not (tmp_path / "dest" / "e2e" / "devset.csv").exists()


def test_fetch_network_failure_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(FetchError, match="could not download") as error:
        fetch_e2e(tmp_path, url=(tmp_path / "missing.zip").as_uri())
    assert "\n" not in str(error.value)
    not_a_zip = tmp_path / "not.zip"
    not_a_zip.write_bytes(b"<html>rate limited</html>")
    with pytest.raises(FetchError, match="not a valid zip"):
        fetch_e2e(tmp_path, url=not_a_zip.as_uri())
