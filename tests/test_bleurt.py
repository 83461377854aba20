"""BLEURT through the official package: a stand-in `bleurt` package written here checks the
wiring (checkpoint, reference 0, normalised hypotheses, mean); the TensorFlow model is not run."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmark.metrics import bleurt
from benchmark.metrics.dart import dart_provenance, normalize_dart, score_dart

STAND_IN = """
CALLS = []

class BleurtScorer:
    def __init__(self, checkpoint):
        self.checkpoint = checkpoint

    def score(self, *args, references=(), candidates=()):
        assert not args, "bleurt >= 0.0.2 takes keyword arguments only"
        CALLS.append((self.checkpoint, list(references), list(candidates)))
        return [float(len(c) - len(r)) for c, r in zip(candidates, references)]
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An importable `bleurt` package with `score.BleurtScorer` and a `test_checkpoint` dir."""
    package = tmp_path / "site" / "bleurt"
    (package / "test_checkpoint").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "score.py").write_text(STAND_IN)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delenv(bleurt.CHECKPOINT_ENV, raising=False)
    for name in ("bleurt", "bleurt.score"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    bleurt._load.cache_clear()
    yield package
    bleurt._load.cache_clear()
    for name in ("bleurt.score", "bleurt"):  # the stand-in never outlives its test
        sys.modules.pop(name, None)


def test_dart_cell_is_the_mean_over_reference_zero_with_the_test_checkpoint(
    stand_in: Path,
) -> None:
    hyps = ["The Cat sat.", "A dog"]
    refs = [["the cat sat on it", "x"], ["a dog", "y"]]
    cell = score_dart(hyps, refs, with_meteor=False)["bleurt"]
    from bleurt import score  # the stand-in, as imported by the scorer

    checkpoint, references, candidates = score.CALLS[-1]
    assert Path(checkpoint) == stand_in / "test_checkpoint"  # DART: bleurt/test_checkpoint
    assert references == ["the cat sat on it", "a dog"]  # reference 0 only
    assert candidates == [normalize_dart(h) for h in hyps] == ["the cat sat .", "a dog"]
    assert cell == pytest.approx(((13 - 17) + (5 - 5)) / 2)
    assert (
        dart_provenance()["bleurt"]
        == f"bleurt.score.BleurtScorer({checkpoint}), reference 0 only, mean"
    )


def test_checkpoint_from_the_environment(
    stand_in: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(bleurt.CHECKPOINT_ENV, str(tmp_path / "BLEURT-20"))
    cell = score_dart(["a"], [["a"]], with_meteor=False)["bleurt"]
    assert cell.startswith("not computed: BLEURT: no BLEURT checkpoint at ") and "BLEURT-20" in cell
    (tmp_path / "BLEURT-20").mkdir()
    bleurt._load.cache_clear()
    assert score_dart(["a b"], [["a"]], with_meteor=False)["bleurt"] == pytest.approx(2.0)


def test_without_the_package_the_cell_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(bleurt.CHECKPOINT_ENV, raising=False)
    monkeypatch.setattr(bleurt, "find_spec", lambda name: None)
    cell = score_dart(["a"], [["a"]], with_meteor=False)["bleurt"]
    assert cell == f"not computed: BLEURT: the bleurt package is not installed: {bleurt.INSTALL}"
