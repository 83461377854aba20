"""Java and the two jars that pycocoevalcap 1.2 ships (METEOR 1.5, Stanford CoreNLP 3.4.1).

The E2E scorer (tuetschek/e2e-metrics) computes METEOR with the METEOR 1.5 jar and tokenises text for
METEOR, ROUGE-L and CIDEr with the Stanford PTBTokenizer; both need a `java` on PATH. This module only
finds things and describes them; running the jars lives in `benchmark.metrics.coco`.
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import shutil
import subprocess
from pathlib import Path

JAVA_NOT_FOUND = (
    "not computed: java not found"  # the METEOR cell when there is no java; never a number
)


class JavaToolError(RuntimeError):
    """A Java-based scorer failed: missing jar, non-zero exit, timeout or unreadable output."""


def find_java() -> str | None:
    """Return the path of the `java` executable on PATH, or None.

    Looked up on every call (not cached) so that a test or a user changing PATH sees the change.
    """
    return shutil.which("java")


@functools.lru_cache(maxsize=8)
def java_version(java: str) -> str:
    """First line of `java -version` (e.g. 'openjdk version "17.0.15" 2025-04-15'), for provenance."""
    try:
        proc = subprocess.run(
            [java, "-version"], capture_output=True, text=True, timeout=60, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"unknown ({err.__class__.__name__})"
    # `java -version` writes to stderr by specification; stdout is a fallback for odd JVMs.
    lines = (proc.stderr or proc.stdout).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def _pycocoevalcap_dir() -> Path:
    # pycocoevalcap 1.2 is a namespace package (no __init__.py), so locate a real submodule.
    spec = importlib.util.find_spec("pycocoevalcap.meteor.meteor")
    if spec is None or spec.origin is None:
        raise JavaToolError("pycocoevalcap is not installed; `pip install pycocoevalcap==1.2`")
    return Path(spec.origin).resolve().parent.parent


def meteor_jar() -> Path:
    """Path of `meteor-1.5.jar` inside pycocoevalcap (its `data/paraphrase-en.gz` sits beside it)."""
    jar = _pycocoevalcap_dir() / "meteor" / "meteor-1.5.jar"
    if not jar.is_file():
        raise JavaToolError(f"METEOR jar not found at {jar}; reinstall pycocoevalcap==1.2")
    return jar


def corenlp_jar() -> Path:
    """Path of `stanford-corenlp-3.4.1.jar` (PTBTokenizer) inside pycocoevalcap."""
    jar = _pycocoevalcap_dir() / "tokenizer" / "stanford-corenlp-3.4.1.jar"
    if not jar.is_file():
        raise JavaToolError(
            f"Stanford CoreNLP jar not found at {jar}; reinstall pycocoevalcap==1.2"
        )
    return jar


@functools.lru_cache(maxsize=8)
def sha256_file(path: Path) -> str:
    """Hex sha256 of a file (the METEOR jar hash goes into every result row)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
