"""Shared fixtures: tiny models built in code, and the real data directory when present."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import data_root, need_data

REPO = Path(__file__).resolve().parent.parent


def data_dir() -> Path | None:
    candidate = data_root()
    return candidate if (candidate / "e2e" / "trainset.csv").is_file() else None


@pytest.fixture(autouse=True)
def _no_cached_metric_models(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """Tests never load a roberta-large, distilbert or BLEURT checkpoint the user may have: DART
    scoring stays fast and the same everywhere (test_bertscore.py, test_moverscore.py and
    test_bleurt.py point the scorers at tiny models or a stand-in package of their own)."""
    missing = tmp_path_factory.getbasetemp() / "no-metric-model"
    monkeypatch.setenv("BENCHMARK_BERTSCORE_MODEL", str(missing))
    monkeypatch.delenv("BENCHMARK_BERTSCORE_LAYER", raising=False)
    monkeypatch.setenv("BENCHMARK_MOVERSCORE_MODEL", str(missing))
    monkeypatch.setenv("BENCHMARK_BLEURT_CHECKPOINT", str(missing))


@pytest.fixture(scope="session")
def e2e_dir() -> Path:
    found = data_dir()
    if found is None:
        need_data(False, "E2E data not found: set BENCHMARK_DATA_DIR or put it in ../shared/data")
    return found


@pytest.fixture(params=["tiny-gpt2", "tiny-llama"])
def tiny(request):
    from benchmark.models import load_model

    return load_model(request.param)


@pytest.fixture(scope="session")
def xsum_fixture_dir(tmp_path_factory) -> Path:
    """A data dir for XSUM plumbing tests: the real split file, gold test summaries and 1,000 test
    articles (symlinked from the data dir), plus 80 train and 30 dev articles and a BBC URL list
    written here. The offline copy has no train/dev articles and no URL list, so those are
    invented: short synthetic texts under real train/dev ids, and made-up topics (train/dev ids
    as news/world, the first 12 test ids as sport, the next 12 as news/health). Fit for running
    the pipeline, not for any score."""
    import json

    found = data_dir()
    if found is None or not (found / "xsum" / "test.jsonl").is_file():
        need_data(
            False, "XSUM files not found: set BENCHMARK_DATA_DIR or put them in ../shared/data"
        )
    root = tmp_path_factory.mktemp("xsum_data")
    (root / "xsum").mkdir()
    for name in (
        "XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json",
        "gold-test-sentences.txt",
        "test.jsonl",
    ):
        (root / "xsum" / name).symlink_to(found / "xsum" / name)
    split = json.loads((found / "xsum" / "XSum-TRAINING-DEV-TEST-SPLIT-90-5-5.json").read_text())
    towns = ("Leeds", "Bristol", "Cardiff", "Perth", "Derry", "Bath", "York", "Ely")
    urls = []
    for name, count in (("train", 80), ("validation", 30)):
        lines = []
        for i, bbc_id in enumerate(split[name][:count]):
            town = towns[i % len(towns)]
            text = (
                f"Councillors in {town} voted on plan number {i} on Monday.\n"
                f"The plan would build {i + 3} new homes near the river, officials said."
            )
            summary = f"{town} council has voted on a plan for {i + 3} homes."
            lines.append(json.dumps({"document": text, "summary": summary, "id": bbc_id}))
            urls.append(f"http://web.archive.org/web/2016/http://www.bbc.com/news/world-{bbc_id}")
        (root / "xsum" / f"{name}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with open(found / "xsum" / "test.jsonl", encoding="utf-8") as handle:
        test_ids = [str(json.loads(line)["id"]) for line, _ in zip(handle, range(24))]
    urls += [f"http://www.bbc.co.uk/sport/football/{i}" for i in test_ids[:12]]
    urls += [f"http://www.bbc.co.uk/news/health-{i}" for i in test_ids[12:]]
    (root / "xsum" / "XSum-WebArxiveUrls-BBCids.txt").write_text("\n".join(urls) + "\n")
    return root
