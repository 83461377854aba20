"""Progress a user can follow anywhere: a tqdm bar on a terminal, log lines everywhere else.

    meter = Progress(total=100, desc="train", unit="step", bar=sys.stderr.isatty(), every=20)
    for step in range(100):
        ...
        meter.update(nll=summed_token_nll, tokens=token_count)
    meter.close()
    # without a bar, every 20 steps:
    # train step 40/100  loss 1.873 nats/token  elapsed 1m12s  ETA 1m48s

Without a bar, a line goes to the `benchmark.progress` logger (INFO) every `every` updates, at
the last one, and whenever `every_s` seconds passed since the previous line, so nohup output,
Slurm logs and `script` files show the step, the loss, the elapsed time and an ETA. The logger is
at INFO whatever the CLI's level (WARNING by default), so its lines reach the CLI's stderr handler;
when logging is not configured at all, a handler of its own prints them, so a line is printed once.

`run_log(path)` copies the run's log records, progress lines included, into a per-run file while a
run executes (`grid.run_one`), also when a bar is on the terminal. Lives at the package root, not
in `benchmark.run`, because the trainer and decoder (a lower layer) use it. Torch-free.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tqdm.auto import tqdm

PROGRESS_LOGGER = "benchmark.progress"
log = logging.getLogger(PROGRESS_LOGGER)
log.setLevel(logging.INFO)  # progress lines are INFO, and must show under the CLI's WARNING
FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"  # the CLI's format, timestamped

_open_run_logs = 0  # run logs open in this process: they want the lines even while a bar is drawn


def duration(seconds: float) -> str:
    """40s, 1m12s, 1h02m."""
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


def spacing(total: int, lines: int = 20) -> int:
    """Updates between log lines (`every`) for about `lines` lines over `total` updates."""
    return max(1, math.ceil(total / lines))


class Progress:
    """A bar (`bar=True`: what `progress=True` means for the trainer and decoder) or log lines.

    `update` counts one unit done; `nll` and `tokens` (summed token NLL and the number of tokens of
    that unit) give the loss of the line: nats per token over the units since the previous line.
    `note` is shown after the count, e.g. "(96/200 inputs)"."""

    def __init__(
        self,
        total: int,
        desc: str,
        unit: str,
        bar: bool,
        every: int = 1,  # a line every this many updates...
        every_s: float = 60.0,  # ...and at least once a minute, so a slow run shows it is alive
    ) -> None:
        self.total, self.desc, self.unit = total, desc, unit
        self.every, self.every_s = max(1, every), every_s
        self.done = 0
        self.started = self.last_line = time.perf_counter()
        self._nll, self._tokens = 0.0, 0  # since the previous line
        self._bar = tqdm(total=total, desc=desc, unit=unit, leave=False) if bar else None

    def update(self, nll: float | None = None, tokens: int = 0, note: str = "") -> None:
        self.done += 1
        if nll is not None:
            self._nll, self._tokens = self._nll + nll, self._tokens + tokens
        if self._bar is not None:
            if nll is not None:
                self._bar.set_postfix_str(f"loss {nll / max(tokens, 1):.3f} nats/token", False)
            elif note:
                self._bar.set_postfix_str(note, False)
            self._bar.update(1)
        now = time.perf_counter()
        due = (
            self.done % self.every == 0
            or self.done == self.total
            or now - self.last_line >= self.every_s
        )
        if due and (self._bar is None or _open_run_logs):
            self._line(now, note)

    def _line(self, now: float, note: str) -> None:
        elapsed = now - self.started
        parts = [
            f"{self.desc} {self.unit} {self.done}/{self.total}" + (f" ({note})" if note else "")
        ]
        if self._tokens:
            parts.append(f"loss {self._nll / self._tokens:.3f} nats/token")
        parts.append(f"elapsed {duration(elapsed)}")
        if self.total:
            remaining = elapsed / self.done * max(0, self.total - self.done)
            parts.append(f"ETA {duration(remaining)}")
        log.info("  ".join(parts), extra={"bar": self._bar is not None})
        self.last_line, self._nll, self._tokens = now, 0.0, 0

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class _Stderr(logging.StreamHandler):
    """Writes to the current sys.stderr (as logging's last-resort handler does)."""

    def __init__(self) -> None:
        logging.Handler.__init__(self)

    @property
    def stream(self):  # type: ignore[override]
        return sys.stderr


def _nobody_else_prints(record: logging.LogRecord) -> bool:
    """Logging unconfigured (no root handler: INFO would be dropped) and no bar drawn already."""
    return not logging.getLogger().handlers and not getattr(record, "bar", False)


if not any(isinstance(h, _Stderr) for h in log.handlers):
    _fallback = _Stderr()
    _fallback.addFilter(_nobody_else_prints)
    _fallback.setFormatter(logging.Formatter("%(message)s"))
    log.addHandler(_fallback)


class _ToRoot(logging.Handler):
    """Passes records on to the root logger's handlers as propagation would, but only those that
    would have been created without the run log (at least `level`) and progress lines not drawn
    as a bar: the run log's INFO records go to its file, not to the terminal."""

    def __init__(self, level: int) -> None:
        super().__init__()
        self.threshold = level

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == PROGRESS_LOGGER:
            wanted = not getattr(record, "bar", False)
        else:
            wanted = record.levelno >= self.threshold
        if wanted:
            logging.getLogger().handle(record)


@contextmanager
def run_log(path: Path, title: str = "") -> Iterator[Path]:
    """While the block runs, append the `benchmark` loggers' records at INFO and above, progress
    lines included, to `path` with timestamps; stderr shows what it showed before. An exception
    leaving the block is written there with its traceback (and raised on).

    Changes the `benchmark` logger for the block: level INFO at most, records handed to the root
    logger through `_ToRoot` rather than by propagation. One run at a time per process."""
    global _open_run_logs
    path.parent.mkdir(parents=True, exist_ok=True)
    top = logging.getLogger("benchmark")
    to_file = logging.FileHandler(path, encoding="utf-8")
    to_file.setLevel(logging.INFO)
    to_file.setFormatter(logging.Formatter(FILE_FORMAT, "%Y-%m-%d %H:%M:%S"))
    to_root = _ToRoot(top.getEffectiveLevel())
    saved = top.level, top.propagate
    top.setLevel(min(top.getEffectiveLevel(), logging.INFO))
    top.propagate = False
    top.addHandler(to_file)
    top.addHandler(to_root)
    _open_run_logs += 1

    def to_file_only(level: int, message: str, exc_info=None) -> None:
        to_file.handle(logging.LogRecord(top.name, level, __file__, 0, message, (), exc_info))

    try:
        to_file_only(logging.INFO, f"started {title}".rstrip())
        yield path
        to_file_only(logging.INFO, "ended")
    except BaseException:
        to_file_only(logging.ERROR, "stopped by an error", sys.exc_info())
        raise
    finally:
        _open_run_logs -= 1
        top.removeHandler(to_root)
        top.removeHandler(to_file)
        top.setLevel(saved[0])
        top.propagate = saved[1]
        to_file.close()
