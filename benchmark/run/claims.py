"""Claims: one runner at a time per run, whatever runs on the results folder (local workers, Slurm
jobs, a second terminal).

A claim is an exclusive `filelock` lock on ``<results>/.claims/<grid>/<scale>/<model>/<run id>/
<config hash>.lock``, held for the whole run; the kernel drops it when its process ends, so a
runner killed with -9 frees its run at once and the next runner takes it over. Beside the lock a
small JSON file says who holds it (host, pid, since) and when it last beat (`HEARTBEAT_S`), for
`status`; it is removed when the claim is released.

    with claim(results_dir, spec) as held:
        if held:  # nobody else is running it
            ...
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

from benchmark.spec import RunSpec

CLAIMS = ".claims"
HEARTBEAT_S = 30.0  # how often a holder rewrites its heartbeat
STALE_AFTER_S = 4 * HEARTBEAT_S  # a holder silent this long is taken for dead by `status`


def claim_base(results_dir: Path, spec: RunSpec) -> Path:
    run = results_dir / CLAIMS / spec.grid / spec.scale / spec.model / spec.run_id
    return run / spec.config_hash


def owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Holder:
    """Who holds a claim, as its JSON file says."""

    owner: str
    host: str
    pid: int
    since: float
    heartbeat: float

    def alive(self, now: float | None = None) -> bool:
        """Beating recently, and on this host its process still exists."""
        now = time.time() if now is None else now
        if now - self.heartbeat > STALE_AFTER_S:
            return False
        if self.host == socket.gethostname():
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                return False
            except PermissionError:
                return True
        return True


def holder(results_dir: Path, spec: RunSpec) -> Holder | None:
    """The claim's holder if its JSON file is there and readable (None otherwise)."""
    path = claim_base(results_dir, spec).with_suffix(".json")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
        return Holder(**info)
    except (OSError, ValueError, TypeError):
        return None


def _write_holder(path: Path, info: dict) -> None:
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(info), encoding="utf-8")
    os.replace(tmp, path)


@contextmanager
def claim(results_dir: Path, spec: RunSpec) -> Iterator[bool]:
    """Try to take the run without waiting; yields True when this process holds it (until the
    block ends), False when another live runner does."""
    base = claim_base(results_dir, spec)
    base.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(base.with_suffix(".lock"), timeout=0, thread_local=False)
    try:
        lock.acquire()
    except Timeout:
        yield False
        return
    info_path = base.with_suffix(".json")
    start = time.time()
    info = {
        "owner": owner(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "since": start,
        "heartbeat": start,
    }
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(HEARTBEAT_S):
            try:
                _write_holder(info_path, {**info, "heartbeat": time.time()})
            except OSError:  # a full or read-only disk is reported where the run writes
                pass

    try:
        _write_holder(info_path, info)
        thread = threading.Thread(target=beat, name=f"heartbeat {spec.run_id}", daemon=True)
        thread.start()
        try:
            yield True
        finally:
            stop.set()
            thread.join()
            info_path.unlink(missing_ok=True)
    finally:
        lock.release()
