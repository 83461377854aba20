"""Input checks shared by every scorer: one reference list per hypothesis, none empty."""

from __future__ import annotations

from collections.abc import Sequence


def check_inputs(
    hypotheses: Sequence[str], references: Sequence[Sequence[str]]
) -> tuple[list[str], list[list[str]]]:
    """Lists of hypotheses and of reference lists, or a TypeError/ValueError saying what is wrong."""
    if isinstance(hypotheses, str) or isinstance(references, str):
        raise TypeError("hypotheses and references must be lists, not a single string")
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    if not hypotheses:
        raise ValueError("nothing to score: no hypotheses")
    checked = []
    for index, refs in enumerate(references):
        if isinstance(refs, str):
            raise TypeError(f"references[{index}] is a string; it must be a list of strings")
        if not refs:
            raise ValueError(f"references[{index}] is empty; every input needs a reference")
        checked.append(list(refs))
    return list(hypotheses), checked
