"""One registry implementation for models, datasets, methods and experiments (grids).

Entries are lazy: a name maps to ``"module:attribute"`` and the module is imported on first use, so
listing names (``ls``, ``--help``) imports neither torch nor the module. A registry can also
*discover* its entries: every module of a package that has a module-level literal ::

    REGISTER = {"prefix": ("SPEC", "prefix-tuning ...")}   # name -> (attribute, summary)

is read with `ast` (the module is not run) and its names become entries. So adding a method,
dataset or experiment is one file in its package, and nothing else names it.

Usage::

    METHODS = Registry("method", discover="benchmark.methods")
    METHODS.get("prefx")  # -> UnknownNameError: unknown method 'prefx'; did you mean: prefix?

This module imports nothing of the project except the torch-free `benchmark.errors`.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import importlib.util
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from benchmark.errors import UnknownNameError

T = TypeVar("T")

REGISTER = "REGISTER"  # the module-level literal a discovered module declares


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    target: str  # "module:attribute"
    summary: str
    alias_of: str = ""  # an old name that now means `alias_of`

    def load(self) -> T:
        module, _, attribute = self.target.partition(":")
        return getattr(importlib.import_module(module), attribute)


class Registry(Generic[T]):
    """A named collection of objects of one kind ("method", "model", ...)."""

    def __init__(self, kind: str, discover: str | None = None) -> None:
        self.kind = kind
        self._discover = discover
        self._entries: dict[str, Entry[T]] = {}
        self._objects: dict[str, T] = {}
        self._discovered = discover is None

    def add(self, name: str, target: str, summary: str = "") -> None:
        """A lazy entry: `target` is "module:attribute", imported on first `get`."""
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, target, summary)

    def alias(self, old: str, new: str) -> None:
        """`old` keeps working and says that it is now called `new`."""
        self._entries[old] = Entry(old, "", f"old name of {new!r}", alias_of=new)

    def register(self, name: str, obj: T, summary: str = "") -> T:
        """An eager entry (tests, objects built in code)."""
        self.add(name, "", summary)
        self._objects[name] = obj
        return obj

    def entry(self, name: str) -> Entry[T]:
        self._load()
        if name not in self._entries:
            names = self.names()
            near = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(near)}?" if near else ""
            raise UnknownNameError(
                f"unknown {self.kind} {name!r}{hint} (known: {', '.join(sorted(names))})"
            )
        return self._entries[name]

    def resolve(self, name: str) -> str:
        """The current name for `name` (an alias gives its new name)."""
        return self.entry(name).alias_of or name

    def get(self, name: str) -> T:
        name = self.resolve(name)
        if name not in self._objects:
            self._objects[name] = self._entries[name].load()
        return self._objects[name]

    def names(self) -> list[str]:
        """Current names (aliases left out), in registration order."""
        self._load()
        return [name for name, entry in self._entries.items() if not entry.alias_of]

    def __iter__(self) -> Iterator[Entry[T]]:
        self._load()
        return iter([entry for entry in self._entries.values() if not entry.alias_of])

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def _load(self) -> None:
        if self._discovered:
            return
        self._discovered = True
        for module, register in discover(self._discover):
            for name, (attribute, summary) in register.items():
                self.add(name, f"{module}:{attribute}", summary)


def discover(package: str) -> list[tuple[str, dict[str, tuple[str, str]]]]:
    """(module, its REGISTER literal) for every module of `package` that has one, in file-name
    order. Modules are parsed, not imported; the package itself is not imported either."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"{package!r} is not a package")
    found = []
    for folder in spec.submodule_search_locations:
        for path in sorted(Path(folder).glob("*.py")):
            register = _read_register(path)
            if register:
                found.append((f"{package}.{path.stem}", register))
    return found


def _read_register(path: Path) -> dict[str, tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else []
        if any(isinstance(t, ast.Name) and t.id == REGISTER for t in targets):
            value: Any = ast.literal_eval(node.value)
            if not isinstance(value, dict) or not all(
                isinstance(v, tuple) and len(v) == 2 for v in value.values()
            ):
                raise ValueError(f"{path}: {REGISTER} must map name -> (attribute, summary)")
            return value
    return {}
