"""One registry implementation for models, datasets, methods and grids.

Usage::

    from benchmark.registry import METHODS
    METHODS.register("prefix", build_prefix, summary="prefix-tuning (Li & Liang 2021)")
    METHODS.get("prefx")  # -> UnknownNameError: unknown method 'prefx'; did you mean: prefix?
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists near matches and all known names."""

    def __str__(self) -> str:  # KeyError quotes its argument; we want the plain sentence
        return str(self.args[0])


@dataclass(frozen=True)
class Entry(Generic[T]):
    name: str
    obj: T
    summary: str


class Registry(Generic[T]):
    """A named collection of objects of one kind ("method", "model", ...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._entries: dict[str, Entry[T]] = {}

    def register(self, name: str, obj: T, summary: str = "") -> T:
        if name in self._entries:
            raise ValueError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = Entry(name, obj, summary)
        return obj

    def decorator(self, name: str, summary: str = "") -> Callable[[T], T]:
        def wrap(obj: T) -> T:
            return self.register(name, obj, summary)

        return wrap

    def get(self, name: str) -> T:
        return self.entry(name).obj

    def entry(self, name: str) -> Entry[T]:
        self._load()
        if name not in self._entries:
            near = difflib.get_close_matches(name, list(self._entries), n=3, cutoff=0.5)
            hint = f"; did you mean: {', '.join(near)}?" if near else ""
            known = ", ".join(sorted(self._entries))
            raise UnknownNameError(f"unknown {self.kind} {name!r}{hint} (known: {known})")
        return self._entries[name]

    def names(self) -> list[str]:
        self._load()
        return list(self._entries)

    def __iter__(self) -> Iterator[Entry[T]]:
        self._load()
        return iter(list(self._entries.values()))

    def __contains__(self, name: object) -> bool:
        self._load()
        return name in self._entries

    def _load(self) -> None:
        # Registration happens when the defining modules are imported; import them on first use so
        # that `METHODS.get(...)` works without the caller knowing which module defines what.
        import benchmark.catalog  # noqa: F401


MODELS: Registry[Any] = Registry("model")
DATASETS: Registry[Any] = Registry("dataset")
METHODS: Registry[Any] = Registry("method")
GRIDS: Registry[Any] = Registry("grid")
