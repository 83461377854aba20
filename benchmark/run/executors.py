"""Executors: where a grid's runs execute. `local` runs them in this process (or `workers`
processes); `submitit-local` and `slurm` submit each run as one task of a job array through
submitit. Every executor runs the same unit (`grid.run_one`), so claims keep any mix of them safe.

    python -m benchmark run --grid lowdata --scale smoke --workers 2
    python -m benchmark run --grid lowdata --scale smoke --executor submitit-local --workers 2
    python -m benchmark run --grid lowdata --scale quick --executor slurm --partition gpu \\
        --gpus-per-run 1 --time 60 --max-parallel 8 --slurm-setup 'source .venv/bin/activate'

Each run is atomic (outputs renamed into place, then its row appended), so a task killed at its
time limit, preempted or requeued simply starts its run again: submitit requeues it (`RunTask`
is checkpointable) and the claim of the killed attempt was freed by the kernel. Logs: submitit
writes each task's stdout and stderr under `<results>/.submitit/<grid>/`; the progress lines name
the log of any task that raised or ended without a result. (`scripts/slurm-up.sh` starts a
one-node Slurm on this machine for trying the slurm executor.)
"""

from __future__ import annotations

import logging
import os
import queue
import shutil
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmark.errors import ConfigError
from benchmark.progress import duration
from benchmark.run.claims import holder
from benchmark.run.grid import DEFAULT_EXECUTION, Execution, print_result, run_one, select, state
from benchmark.run.store import is_done, read_rows, results_path
from benchmark.spec import RunSpec, spec_from_dict

EXECUTORS = ("local", "submitit-local", "slurm")

SUBMITIT_DIR = ".submitit"  # <results>/.submitit/<grid>/: submitit's pickles and each task's logs
LOCAL_TIMEOUT_MIN = 7 * 24 * 60  # submitit-local: never cut a local run short (its default: 2 min)
POLL_S = 1.0  # how often finished results are looked for (a file check)
SQUEUE_EVERY_S = (2.0, 30.0)  # squeue: often at first, then every 30 s for long arrays
# squeue states of a task that may still produce a result (anything else, or absent: it ended)
LIVE_STATES = {
    "PENDING", "RUNNING", "CONFIGURING", "COMPLETING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED",
    "RESIZING", "SUSPENDED", "STOPPED", "SIGNALING", "STAGE_OUT", "PREEMPTED",
}  # fmt: skip
SIGNAL_DELAY_S = 90  # slurm: the time-limit signal comes this long before the limit (submitit's)
ENDED_GRACE_S = 10.0  # an ended task's result file may lag on a shared file system


@dataclass(frozen=True)
class ExecutorOptions:
    workers: int = 1  # local and submitit-local: runs at once on this machine
    partition: str | None = None  # slurm: --partition (None: the cluster's default)
    gpus_per_run: int = 0
    cpus_per_run: int | None = None  # None: this machine's cores / workers (local), 2 (slurm)
    time_min: int = 120  # slurm: each task's time limit; a task killed by it is requeued
    max_parallel: int | None = None  # slurm: --array=...%N
    setup: tuple[str, ...] = ()  # slurm: shell lines run before each task (module load, venv)
    wait: bool = True  # wait for the jobs with a progress line, else return after submitting
    how: Execution = DEFAULT_EXECUTION  # each run's device and reuse, in whichever process runs it


def launch(
    executor: str,
    specs: list[RunSpec],
    data_dir: Path,
    results_dir: Path,
    options: ExecutorOptions,
    complete_grid: bool = False,
    retry_failed: bool = False,
) -> int:
    """Run the runs of `specs` that are not done on `executor` (the same selection and messages
    as `grid.run_specs`); return how many failed."""
    if executor not in EXECUTORS:
        raise ConfigError(f"unknown executor {executor!r} (known: {', '.join(EXECUTORS)})")
    if not specs:
        print("no runs selected")
        return 0
    data_dir, results_dir = data_dir.resolve(), results_dir.resolve()
    todo = select(specs, results_dir, complete_grid, retry_failed)
    if not todo:
        print(f"{specs[0].grid}: nothing to run")
        return 0
    if executor == "local":
        return _local(todo, data_dir, results_dir, options)
    return _submitit(executor, todo, data_dir, results_dir, options)


# ---- progress: one line per finished run, whichever process ran it --------------------------


def _key(spec: RunSpec) -> tuple[str, str, str, str]:
    return (spec.scale, spec.model, spec.run_id, spec.config_hash)


@dataclass
class RunReport:
    """Counts and prints `[k/n] <run id> ok|failed|skipped|error (elapsed, ETA)` lines; works the
    same in a terminal, under nohup and in a Slurm log (plain lines, flushed)."""

    todo: list[RunSpec]
    started: float = field(default_factory=time.perf_counter)
    outcome: dict[tuple, str] = field(default_factory=dict)  # run key -> ok|failed|skipped|...
    trained: int = 0  # reported runs that trained (not recorded from another grid's run)

    def report(
        self, spec: RunSpec, outcome: str, detail: str = "", row: dict | None = None
    ) -> None:
        first = _key(spec) not in self.outcome
        self.outcome[_key(spec)] = outcome
        if not first and outcome != "ok":
            return  # a second attempt that raised again, or a worker skipping a finished run
        if row is not None and not row.get("reused_from"):
            self.trained += 1
        done = len(self.outcome)
        elapsed = time.perf_counter() - self.started
        left = len(self.todo) - done
        # paced by the trained runs only: one recorded from another grid's takes seconds
        eta = f", ETA {duration(elapsed / self.trained * left)}" if left and self.trained else ""
        line = f"[{done}/{len(self.todo)}] {spec.run_id} {outcome}"
        print(
            f"{line}{f' ({detail})' if detail else ''}  elapsed {duration(elapsed)}{eta}",
            flush=True,
        )
        if row is not None:
            print_result(spec, row)

    def finished(self, spec: RunSpec, row: dict) -> None:
        """A row `run_one` wrote (ok or failed)."""
        self.report(spec, "ok" if row["status"] == "ok" else "failed", row=row)

    def summary(self, results_dir: Path) -> int:
        """A line for each run nobody reported (done or held by a runner outside this launch, or
        lost with a dead worker), then the closing line; returns the failed count: failed rows,
        runs that raised, runs lost with their task or worker."""
        grid = self.todo[0].grid
        rows = read_rows(results_path(results_dir, grid))
        for spec in self.todo:
            if _key(spec) in self.outcome:
                continue
            if is_done(rows, spec):
                self.report(spec, "skipped", "done by another runner")
            elif state(rows, spec, results_dir) == "running":
                held = holder(results_dir, spec)
                self.report(
                    spec, "skipped", f"claimed by {held.owner if held else 'another runner'}"
                )
            else:
                self.report(
                    spec, "lost", "not run: its worker died; rerun the command to finish it"
                )
        values = list(self.outcome.values())
        failed = sum(v in ("failed", "error", "lost") for v in values)
        elsewhere = sum(
            self.outcome[_key(s)] == "skipped" and state(rows, s, results_dir) == "running"
            for s in self.todo
        )
        print(
            f"{grid}: finished {values.count('ok')} run(s), {failed} failed, in "
            f"{duration(time.perf_counter() - self.started)}"
            + (f"; {elsewhere} still running elsewhere" if elsewhere else ""),
            flush=True,
        )
        return failed


def _threads(workers: int, cpus_per_run: int | None) -> int:
    if cpus_per_run:
        return cpus_per_run
    try:
        cores = len(os.sched_getaffinity(0))  # the cores this process may use (cgroups, taskset)
    except AttributeError:  # macOS
        cores = os.cpu_count() or 1
    return max(1, cores // workers)


def set_threads(threads: int | None) -> None:
    """torch's intra-op threads for the runs of this process (None: torch's default)."""
    if threads:
        import torch

        torch.set_num_threads(threads)


# ---- local: N worker processes sharing the list through claims ------------------------------


def _local(todo: list[RunSpec], data_dir: Path, results_dir: Path, options: ExecutorOptions) -> int:
    import multiprocessing

    workers = min(options.workers, len(todo))
    threads = _threads(options.workers, options.cpus_per_run)
    print(f"local: {workers} worker processes, {threads} thread(s) each", flush=True)
    context = multiprocessing.get_context("spawn")  # no forked torch state, same on every OS
    messages = context.Queue()
    settled = context.RawArray("b", len(todo))  # run i finished or raised in this launch
    dicts = [s.resolved() for s in todo]
    level = logging.getLogger().level
    procs = [
        context.Process(
            target=_worker,
            args=(
                k,
                dicts,
                settled,
                str(data_dir),
                str(results_dir),
                threads,
                level,
                messages,
                options.how,
            ),  # fmt: skip
            name=f"benchmark-worker-{k}",
        )
        for k in range(workers)
    ]
    by_key = {_key(s): s for s in todo}
    progress = RunReport(todo)
    for proc in procs:
        proc.start()
    try:
        while True:
            try:
                kind, key, payload = messages.get(timeout=POLL_S)
            except queue.Empty:
                if all(not p.is_alive() for p in procs):
                    break
                continue
            spec = by_key[tuple(key)]
            if kind == "row":
                progress.finished(spec, payload)
            elif kind == "error":
                progress.report(spec, "error", payload)
    except KeyboardInterrupt:  # the workers got the same SIGINT; their claims are freed
        for proc in procs:
            proc.join(timeout=10)
        raise
    for k, proc in enumerate(procs):
        proc.join()
        if proc.exitcode:
            print(
                f"local: worker {k} died (exit code {proc.exitcode}); a run it held is freed and "
                "left pending",
                file=sys.stderr,
                flush=True,
            )
    return progress.summary(results_dir)


def _worker(
    index: int,
    spec_dicts: list[dict],
    settled: Any,
    data_dir: str,
    results_dir: str,
    threads: int,
    log_level: int,
    messages: Any,
    how: Execution = DEFAULT_EXECUTION,
) -> None:
    """One local worker: pass over the list running every run nobody holds, then again over
    those another runner held (it may have died, freeing its claim), until a pass takes nothing.
    `settled[i]` (shared by the workers) marks a run finished or raised in this launch, so a run
    that raised is not retried by every worker."""
    _die_with_parent()
    _log_like_the_cli(log_level, f"[worker {index}] ")
    set_threads(threads)
    results = Path(results_dir)
    specs = [spec_from_dict(d) for d in spec_dicts]
    path = results_path(results, specs[0].grid)
    remaining = list(range(len(specs)))
    while remaining:
        took, held_elsewhere = False, []
        for i in remaining:
            if settled[i]:
                continue
            spec = specs[i]
            try:
                row = run_one(spec, Path(data_dir), results, progress=False, how=how)
            except Exception:  # reported with its traceback; the next run goes on
                settled[i] = took = True
                messages.put(("error", _key(spec), _one_line(traceback.format_exc())))
                traceback.print_exc()
                continue
            if row is not None:
                settled[i] = took = True
                messages.put(("row", _key(spec), row))
            elif not is_done(read_rows(path), spec):
                held_elsewhere.append(i)
        if not took:
            break
        remaining = held_elsewhere


def _die_with_parent() -> None:
    """A worker ends when the runner that started it ends, however it ended (`kill`, SIGKILL,
    a Slurm cancel of the parent), instead of running on unsupervised. Its claim dies with it and
    its run, never recorded, stays to do. Linux: the kernel's parent-death signal; elsewhere a
    thread that watches the parent."""
    import threading

    parent = os.getppid()
    if sys.platform.startswith("linux"):
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(1, int(signal.SIGKILL), 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
            if os.getppid() != parent:  # it died before the signal was armed
                os._exit(1)
            return

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


def _log_like_the_cli(level: int, prefix: str = "") -> None:
    """A worker or task process logs as `python -m benchmark` does (it starts unconfigured)."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=level, format=f"{prefix}%(levelname)s %(name)s: %(message)s")


def _one_line(trace: str) -> str:
    lines = [line for line in trace.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "unknown error"


# ---- submitit: one job (array task) per run -------------------------------------------------


def _submitit_module() -> Any:
    try:
        import submitit
    except ImportError as err:
        raise ConfigError(
            "the submitit executors need submitit: pip install 'prefix-tuning-benchmark[cluster]' "
            "(or pip install 'submitit>=1.5.4,<2')"
        ) from err
    return submitit


class RunTask:
    """One run as a submitit job: `RunTask(threads)(spec_dict, data_dir, results_dir)` rebuilds
    the spec and calls `run_one`; returns {"row": row or None, "held_by": owner or None}.

    Checkpointable in submitit's sense (a callable with `checkpoint`, which is all submitit looks
    for; `submitit.helpers.Checkpointable` adds nothing else, and importing it here would load
    submitit for every `--help`): a task at its time limit or preempted is requeued with the same
    arguments and starts its run again. A run is atomic and the killed attempt's claim was freed
    with its process, so nothing needs saving."""

    def __init__(self, threads: int | None = None, how: Execution = DEFAULT_EXECUTION) -> None:
        self.threads = threads
        self.how = how

    def __call__(self, spec_dict: dict, data_dir: str, results_dir: str) -> dict[str, Any]:
        _log_like_the_cli(logging.WARNING)
        set_threads(self.threads)
        spec = spec_from_dict(spec_dict)
        results = Path(results_dir)
        print(f"run {spec.run_id} ({spec.config_hash}) in {results}", flush=True)
        row = run_one(spec, Path(data_dir), results, progress=False, how=self.how)
        if row is None:
            held = holder(results, spec)
            done = is_done(read_rows(results_path(results, spec.grid)), spec)
            return {"row": None, "held_by": None if done or held is None else held.owner}
        return {"row": row, "held_by": None}

    def checkpoint(self, *args: Any, **kwargs: Any) -> Any:
        """Called by submitit on the time-limit/preemption signal: resubmit the same call."""
        from submitit.helpers import DelayedSubmission

        print("time limit or preemption: requeued; the run starts again", flush=True)
        return DelayedSubmission(self, *args, **kwargs)


def _submitit(
    executor: str, todo: list[RunSpec], data_dir: Path, results_dir: Path, options: ExecutorOptions
) -> int:
    submitit = _submitit_module()
    grid = todo[0].grid
    folder = results_dir / SUBMITIT_DIR / grid
    args = (
        [s.resolved() for s in todo],
        [str(data_dir)] * len(todo),
        [str(results_dir)] * len(todo),
    )
    if executor == "submitit-local":
        return _submitit_local(submitit, todo, args, folder, results_dir, options)
    if shutil.which("sbatch") is None:
        raise ConfigError(
            "--executor slurm: sbatch is not on PATH (run on a Slurm login node, or start a "
            "one-node Slurm here: sudo bash scripts/slurm-up.sh)"
        )
    cpus = options.cpus_per_run or 2
    slurm = submitit.AutoExecutor(folder=folder, cluster="slurm")
    parameters: dict[str, Any] = {
        "name": f"benchmark-{grid}",
        "timeout_min": options.time_min,
        "cpus_per_task": cpus,
        "slurm_setup": list(options.setup),
        # the time-limit warning (USR2; the task requeues itself): submitit's 90 s before the
        # end, but within the last quarter of a short limit, or a 1-minute task would requeue
        # itself as it starts
        "slurm_signal_delay_s": min(SIGNAL_DELAY_S, options.time_min * 60 // 4),
    }
    if options.partition:
        parameters["slurm_partition"] = options.partition
    if options.gpus_per_run:
        parameters["gpus_per_node"] = options.gpus_per_run
    if options.max_parallel:
        parameters["slurm_array_parallelism"] = options.max_parallel
    slurm.update_parameters(**parameters)
    try:
        jobs = slurm.map_array(RunTask(threads=cpus, how=options.how), *args)
    except Exception as err:  # sbatch's refusal (bad partition, no controller) as one line
        raise ConfigError(f"sbatch refused the job array: {_one_line(str(err))}") from err
    array_id = jobs[0].job_id.split("_")[0]
    print(
        f"slurm: submitted {len(jobs)} run(s) as job array {array_id} ({cpus} CPU(s)"
        + (f", {options.gpus_per_run} GPU(s)" if options.gpus_per_run else "")
        + f", {options.time_min} min per task"
        + (f", at most {options.max_parallel} at once" if options.max_parallel else "")
        + (f", partition {options.partition}" if options.partition else "")
        + f"); logs: {folder}",
        flush=True,
    )
    if not options.wait:
        print(f"  follow with: {_follow_command(todo, results_dir, array_id)}")
        return 0
    progress = RunReport(todo)
    pending = dict(zip(jobs, todo))
    ended_since: dict[Any, float] = {}
    next_squeue, squeue_states = 0.0, {}
    try:
        while pending:
            now = time.perf_counter()
            if now >= next_squeue:
                squeue_states = _squeue(array_id)
                interval = min(
                    SQUEUE_EVERY_S[1], max(SQUEUE_EVERY_S[0], (now - progress.started) / 10)
                )
                next_squeue = now + interval
            for job, spec in list(pending.items()):
                if job.paths.result_pickle.exists():
                    del pending[job]
                    _describe(job, spec, progress)
                    continue
                task_state = squeue_states.get(job.job_id) if squeue_states is not None else "?"
                if task_state in LIVE_STATES or task_state == "?":
                    ended_since.pop(job, None)
                    continue
                first = ended_since.setdefault(job, now)
                # a task that never started has no result to wait for: one more squeue look
                started = job.paths.stderr.is_file()
                if now - first >= (ENDED_GRACE_S if started else SQUEUE_EVERY_S[0]):
                    del pending[job]
                    how = task_state.lower() if task_state else "left the queue (cancelled?)"
                    progress.report(spec, "lost", f"{how} without a result; {_log_of(job)}")
            if pending:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        print(
            f"\ninterrupted: the tasks keep running (scancel {array_id} stops them); "
            f"follow with: {_follow_command(todo, results_dir, array_id)}",
            file=sys.stderr,
        )
        raise
    return progress.summary(results_dir)


def _submitit_local(
    submitit: Any,
    todo: list[RunSpec],
    args: tuple[list, list, list],
    folder: Path,
    results_dir: Path,
    options: ExecutorOptions,
) -> int:
    """A local job per run, `workers` at a time (LocalExecutor starts every job it is given at
    once, so this process keeps the array's parallelism)."""
    threads = _threads(options.workers, options.cpus_per_run)
    local = submitit.LocalExecutor(folder=folder)
    local.update_parameters(timeout_min=LOCAL_TIMEOUT_MIN)
    task = RunTask(threads=threads, how=options.how)
    waiting = list(zip(todo, *args))
    print(
        f"submitit-local: {len(todo)} job(s), {options.workers} at a time, {threads} thread(s) "
        f"each; logs: {folder}",
        flush=True,
    )
    progress = RunReport(todo)
    running: dict[Any, RunSpec] = {}
    try:
        while waiting or running:
            while waiting and len(running) < options.workers:
                spec, *call = waiting.pop(0)
                running[local.submit(task, *call)] = spec
            for job, spec in list(running.items()):
                if job.done():
                    del running[job]
                    if job.paths.result_pickle.exists():
                        _describe(job, spec, progress)
                    else:
                        progress.report(spec, "lost", f"ended without a result; {_log_of(job)}")
            time.sleep(POLL_S / 4 if waiting else POLL_S)
    except KeyboardInterrupt:
        for job in running:
            job.cancel()  # SIGINT to each job's controller, which stops its task
        raise
    return progress.summary(results_dir)


def _describe(job: Any, spec: RunSpec, progress: RunReport) -> None:
    """Report a job whose result file exists: its row, a skip, or the exception it raised."""
    try:
        result = job.result()
    except Exception as err:  # the task raised: one line, and where its log is
        progress.report(spec, "error", f"{_one_line(_trace_of(err))}; {_log_of(job)}")
        return
    if result["row"] is not None:
        progress.finished(spec, result["row"])
    elif result["held_by"]:
        progress.report(spec, "skipped", f"claimed by {result['held_by']}")
    else:
        progress.report(spec, "skipped", "done by another runner")


def _log_of(job: Any) -> str:
    log = job.paths.stderr
    return f"log: {log}" if log.is_file() else "it never started (no log)"


def _trace_of(err: Exception) -> str:
    """The task's own exception line out of submitit's FailedJobError text (trace between dashes)."""
    text = str(err)
    parts = text.split("-" * 22)
    return parts[1] if len(parts) >= 3 else text


def _squeue(array_id: str) -> dict[str, str] | None:
    """Each task's state (`<array>_<task>` -> RUNNING, PENDING, CANCELLED, ...), ended tasks
    included while Slurm keeps them; None when squeue gives no answer (keep waiting)."""
    try:
        done = subprocess.run(
            ["squeue", "-h", "-r", "-t", "all", "-j", array_id, "-o", "%i|%T"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode:  # "Invalid job id": every task ended and Slurm forgot them (MinJobAge)
        return {} if "invalid job id" in done.stderr.lower() else None
    states = {}
    for line in done.stdout.splitlines():
        job_id, _, task_state = line.strip().partition("|")
        states[job_id] = task_state.split()[0] if task_state else ""
    return states


def _follow_command(todo: list[RunSpec], results_dir: Path, array_id: str) -> str:
    from benchmark.experiments import GRIDS

    spec = todo[0]
    if spec.grid in GRIDS.names():
        model = GRIDS.get(spec.grid).specs(spec.scale, None)[0].model
        return (
            f"python -m benchmark status --grid {spec.grid} --scale {spec.scale}"
            + ("" if spec.model == model else f" --model {spec.model}")
            + f" --results-dir {results_dir}"
        )
    return (
        f"squeue -j {array_id}; rerun this command to list what is done "
        f"({results_path(results_dir, spec.grid)})"
    )
