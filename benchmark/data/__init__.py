"""Original dataset files -> plain examples. Loaders know nothing of methods or models."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    """One input with all of its references.

    Test/dev examples carry every reference of their input (multi-reference scoring); training pairs
    carry exactly one.
    """

    source: str  # linearised input, e.g. "name : The Vaults | Type : pub"
    references: tuple[str, ...]


def training_pairs(examples: list[Example]) -> list[Example]:
    """Expand grouped examples into one (source, reference) pair per reference, order kept."""
    return [Example(ex.source, (ref,)) for ex in examples for ref in ex.references]
