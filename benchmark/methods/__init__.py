"""Methods: each wraps a loaded LM into an `AdaptedLM` (`base.py`) that says what trains and what
is stored.

A method is one module in this package: a config dataclass, a builder, ``SPEC = MethodSpec(...)``
and one line ``REGISTER = {"name": ("SPEC", "summary")}``, which `METHODS` finds by reading the
file (no import). The trainer and the decoder use only the `AdaptedLM` interface, so adding a
method touches neither. This file stays torch-free so that ``ls methods`` is instant.
"""

from benchmark.registry import Registry

METHODS: Registry = Registry("method", discover=__name__)
