"""The registries: entries are found by reading each module's REGISTER literal (the module is not
imported), near matches for unknown names, aliases; and the face stays light (no torch)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from benchmark.errors import UnknownNameError
from benchmark.registry import Registry

REPO = Path(__file__).resolve().parent.parent


def _package(root: Path, name: str, modules: dict[str, str]) -> None:
    folder = root / name
    folder.mkdir()
    (folder / "__init__.py").write_text("raise RuntimeError('the package must not be imported')\n")
    for module, text in modules.items():
        (folder / f"{module}.py").write_text(textwrap.dedent(text))


def test_discovery_reads_register_without_importing(tmp_path, monkeypatch):
    _package(
        tmp_path,
        "fakemethods",
        {
            "alpha": """
                raise RuntimeError("importing alpha is not allowed when listing")
                REGISTER = {"alpha": ("SPEC", "the first"), "alpha-2": ("OTHER", "its twin")}
            """,
            "helpers": "X = 1  # no REGISTER: not an entry\n",
        },
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry("method", discover="fakemethods")
    assert registry.names() == ["alpha", "alpha-2"]
    assert [e.summary for e in registry] == ["the first", "its twin"]
    assert registry.entry("alpha-2").target == "fakemethods.alpha:OTHER"
    with pytest.raises(RuntimeError, match="must not be imported"):
        registry.get("alpha")  # only getting an entry imports its module


def test_unknown_names_list_near_matches_and_aliases_say_the_new_name():
    registry = Registry("grid")
    registry.register("table2", object(), "ACL Table 2")
    registry.alias("table1", "table2")
    with pytest.raises(UnknownNameError, match=r"unknown grid 'tabel2'; did you mean: table2\?"):
        registry.get("tabel2")
    assert registry.resolve("table1") == "table2"
    assert registry.get("table1") is registry.get("table2")
    assert registry.names() == ["table2"]  # aliases are not listed


def test_a_bad_register_literal_is_an_error(tmp_path, monkeypatch):
    _package(tmp_path, "badpkg", {"m": 'REGISTER = {"x": "not a pair"}\n'})
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ValueError, match="REGISTER must map name -> \\(attribute, summary\\)"):
        Registry("method", discover="badpkg").names()


def test_every_registered_entry_loads():
    from benchmark.data import DATASETS
    from benchmark.data.dataset import DatasetSpec
    from benchmark.experiments import GRIDS
    from benchmark.experiments.recipes import Experiment
    from benchmark.methods import METHODS
    from benchmark.methods.base import MethodSpec

    for registry, kind in ((METHODS, MethodSpec), (DATASETS, DatasetSpec), (GRIDS, Experiment)):
        for entry in registry:
            assert isinstance(registry.get(entry.name), kind), entry.name


LIGHT = """
import sys
from benchmark.cli import main
code = main(sys.argv[1:])
heavy = sorted(m for m in ("torch", "transformers", "safetensors") if m in sys.modules)
print("HEAVY", heavy)
"""


@pytest.mark.parametrize(
    "argv",
    [
        ["ls"],
        ["ls", "methods"],
        ["plot"],
        ["tables", "--readme", "none"],
        ["status"],
    ],
    ids=lambda argv: " ".join(argv[:2]),
)
def test_the_face_imports_no_torch(argv, tmp_path):
    """ls, plot and tables import neither torch nor transformers (they are instant). A dry run
    does: it checks every run's method options against the method's config class."""
    if argv[0] in ("plot", "tables"):
        argv = [*argv, "--results-dir", str(REPO / "results"), "--out", str(tmp_path)]
    elif argv[0] == "status":
        argv = [*argv, "--results-dir", str(REPO / "results")]
    out = subprocess.run(
        [sys.executable, "-c", LIGHT, *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "HEAVY []" in out, out


def test_help_and_version_import_no_torch():
    code = "import sys\nfrom benchmark.cli import build_parser\nbuild_parser()\nprint('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
    version = subprocess.run(
        [sys.executable, "-m", "benchmark", "--version"], cwd=REPO, capture_output=True, text=True
    )
    assert version.stdout.startswith("python -m benchmark 0.")
