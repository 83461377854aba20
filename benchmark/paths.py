"""Where the project's own folders are: results/, figures/, tables/ and README.md are resolved from
the project root (the checkout this package runs from), not the working directory, so commands
give the same answer from any folder. Installed elsewhere (no checkout), the working directory is
the root. Imports nothing of the project."""

from __future__ import annotations

from pathlib import Path


def project_root() -> Path:
    checkout = Path(__file__).resolve().parent.parent
    return checkout if (checkout / "pyproject.toml").is_file() else Path.cwd()


def default_dir(name: str) -> Path:
    """`results`, `figures`, `tables` or `README.md` of the project."""
    return project_root() / name


def given_or_default(value: str | None, name: str) -> Path:
    """A folder or file the user gave, else the project's own `name`."""
    return Path(value) if value else default_dir(name)
