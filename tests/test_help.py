"""Every subcommand's --help teaches: what it does (a description, not only its options) and an
example command line."""

from __future__ import annotations

import pytest

from benchmark.cli import SUBCOMMANDS, build_parser


@pytest.mark.parametrize("name", [m.__name__.rsplit(".", 1)[-1] for m in SUBCOMMANDS])
def test_every_subcommand_help_says_what_it_does_and_shows_an_example(name):
    parser = build_parser()
    (sub,) = [a for a in parser._actions if hasattr(a, "choices") and a.choices]
    command = sub.choices[name]
    assert command.description and len(command.description) > 60, f"{name}: no description"
    assert f"python -m benchmark {name}" in (command.epilog or ""), f"{name}: no example"
    assert "python -m benchmark" in command.format_help()
