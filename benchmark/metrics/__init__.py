"""Metrics: strings in, numbers out (never imports torch or a model).

E2E (tuetschek/e2e-metrics parity): `score_e2e`, `e2e_provenance`, and writers for the official
scorer's file layout so that any run can be rescored with `measure_scores.py -p`.
"""

from benchmark.metrics.e2e import (
    E2E_METRICS,
    METRICS_VERSION,
    e2e_provenance,
    read_e2e_references,
    read_lines,
    score_e2e,
    write_e2e_references,
    write_lines,
)
from benchmark.metrics.java import JAVA_NOT_FOUND, JavaToolError

__all__ = [
    "E2E_METRICS",
    "JAVA_NOT_FOUND",
    "METRICS_VERSION",
    "JavaToolError",
    "e2e_provenance",
    "read_e2e_references",
    "read_lines",
    "score_e2e",
    "write_e2e_references",
    "write_lines",
]
