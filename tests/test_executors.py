"""Executors, with real processes: the same smoke runs on every executor write the same rows, each
run once; runners sharing a results folder split the work; a runner killed holding a claim frees
its run; on Slurm, a cancelled task is finished by a rerun and a requeued task runs its run once.

    BENCHMARK_DATA_DIR=../shared/data pytest -q tests/test_executors.py
    sudo bash scripts/slurm-up.sh   # first, for the Slurm tests (CI starts it in .ci/run)

The Slurm tests skip when `sinfo` is missing or no node is idle, and fail instead under `CI=true`.
The runs score without java (METEOR off: a JVM start per run would triple the file's time); the
scorers have their own tests, these check where runs execute.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmark.run.executors import RunTask
from benchmark.run.store import read_rows

from .helpers import IN_CI, REPO, data_root, need_data

RUNS = [
    *("--method", "prefix", "--train-size", "50", "--scale", "smoke"),
    *("--set", "train.max_steps=2", "--set", "init_steps=2"),
]
SLOW = ("--set", "init_steps=150")  # a run of a few seconds, to catch while it holds its claim
SUBSETS = "0,1"  # two runs: enough for two at once, and each process start costs seconds
COMPARED = ("config_hash", "status", "bleu", "nist", "meteor", "rouge_l", "cider", "steps")
TIMEOUT_S = 240  # one command of this file; each takes seconds


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The runners' environment: this checkout's code, the data, and a PATH without java."""
    data = data_root()
    need_data((data / "e2e" / "trainset.csv").is_file(), f"E2E data not found in {data}")
    no_java = tmp_path_factory.mktemp("path-without-java")
    for folder in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(folder):
            continue
        for entry in os.scandir(folder):
            target = no_java / entry.name
            if entry.name != "java" and not target.exists() and not target.is_symlink():
                target.symlink_to(entry.path)
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(no_java)]),
        "PYTHONPATH": str(REPO),
        "BENCHMARK_DATA_DIR": str(data),
    }


def command(results: Path, *options: str, subsets: str = SUBSETS) -> list[str]:
    return [
        *(sys.executable, "-m", "benchmark", "run", *RUNS, "--subset", subsets),
        *("--results-dir", str(results), *options),
    ]


def run(argv: list[str], env: dict[str, str], expect: int = 0) -> str:
    done = subprocess.run(
        argv, env=env, cwd=REPO, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )
    output = done.stdout + done.stderr
    assert done.returncode == expect, f"exit code {done.returncode}:\n{output[-4000:]}"
    return output


def table(results: Path) -> dict[str, dict[str, str]]:
    """run id -> the compared columns and the hypotheses; asserts each run has one row."""
    rows = read_rows(results / "adhoc.csv")
    ids = [row["run_id"] for row in rows]
    assert len(ids) == len(set(ids)), f"a run was recorded twice: {sorted(ids)}"
    return {
        row["run_id"]: {
            **{column: row[column] for column in COMPARED},
            "hypotheses": (results / row["outputs_dir"] / "hypotheses.txt").read_text(),
        }
        for row in rows
    }


def wait_for(check, what: str, timeout: float = TIMEOUT_S, every: float = 0.05):
    """Poll `check()` until it returns something true; fail naming `what` after `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(every)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


def claim_of(results: Path, subset: int) -> Path | None:
    found = sorted((results / ".claims").glob(f"**/subset={subset}/seed=0/*.json"))
    return found[0] if found else None


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory) -> dict[str, dict[str, str]]:
    """The rows of the plain runner (local, one worker: one run after another)."""
    results = tmp_path_factory.mktemp("reference")
    run(command(results), env)
    found = table(results)
    assert len(found) == 2 and all(row["status"] == "ok" for row in found.values())
    return found


def slurm_problem() -> str | None:
    """Why the Slurm tests cannot run here (None: a node is idle)."""
    if shutil.which("sinfo") is None or shutil.which("sbatch") is None:
        return "sinfo/sbatch not on PATH"
    try:
        states = subprocess.run(
            ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, timeout=30
        ).stdout.split()  # node states: idle, mix, alloc, down, drain, ...
    except (OSError, subprocess.SubprocessError) as err:
        return f"sinfo failed: {err}"
    if not {"idle", "mix"} & set(states):
        return f"no idle Slurm node (sinfo says: {' '.join(states) or 'nothing'})"
    return None


SLURM_PROBLEM = slurm_problem()  # once, at collection (sinfo waits ~10 s for a dead controller)
SLURM = [pytest.mark.slurm]
if SLURM_PROBLEM and not IN_CI:  # skipped before any fixture runs (under CI, `slurm` fails)
    SLURM.append(
        pytest.mark.skip(reason=f"{SLURM_PROBLEM}; start one: sudo bash scripts/slurm-up.sh")
    )


def slurm_test(test):
    for mark in SLURM:
        test = mark(test)
    return test


@pytest.fixture
def slurm():
    """Fail under CI=true without a Slurm node; cancel the arrays the test submitted."""
    if SLURM_PROBLEM:
        pytest.fail(f"CI=true but {SLURM_PROBLEM}; .ci/run starts Slurm with scripts/slurm-up.sh")
    arrays: list[str] = []
    yield arrays
    for array in arrays:
        subprocess.run(["scancel", array], check=False)


def array_of(output: str, arrays: list[str]) -> str:
    match = re.search(r"as job array (\d+)", output)
    assert match, f"no job array id in:\n{output}"
    arrays.append(match.group(1))
    return match.group(1)


def task_states(array: str) -> dict[str, str]:
    out = subprocess.run(
        ["squeue", "-h", "-r", "-j", array, "-o", "%i %T"], capture_output=True, text=True
    ).stdout
    return dict(line.split() for line in out.splitlines() if line.strip())


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(("--workers", "2"), id="local-2-workers"),
        pytest.param(("--cpus-per-run", "1"), id="local-1-thread"),
        pytest.param(("--workers", "2", "--cpus-per-run", "1"), id="local-2-workers-1-thread"),
        pytest.param(("--executor", "submitit-local", "--workers", "2"), id="submitit-local"),
        pytest.param(("--executor", "slurm", "--cpus-per-run", "1"), id="slurm", marks=SLURM),
    ],
)
def test_every_executor_writes_the_rows_of_the_plain_runner(
    options, reference, env, tmp_path, request
):
    if "slurm" in options:
        request.getfixturevalue("slurm")  # fails under CI without Slurm (else skipped already)
    output = run(command(tmp_path, *options), env)
    assert table(tmp_path) == reference
    assert "[2/2]" in output and "finished 2 run(s), 0 failed" in output, output
    if "--cpus-per-run" in options and "slurm" not in options:  # threads per run, here too
        assert "1 thread(s)" in output, output
    if "--executor" in options:  # each run's task left its logs in the submitit folder
        logs = sorted((tmp_path / ".submitit" / "adhoc").glob("*_log.err"))
        assert len(logs) == 2, logs


def test_two_runners_started_together_do_every_run_once(reference, env, tmp_path):
    argv = command(tmp_path)
    runners = [
        subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [runner.communicate(timeout=TIMEOUT_S)[0] for runner in runners]
    assert [runner.returncode for runner in runners] == [0, 0], outputs
    assert table(tmp_path) == reference
    finished = [int(re.search(r"finished (\d+) run", out).group(1)) for out in outputs]
    assert sum(finished) == 2, outputs  # no run done by both


def test_a_runner_killed_holding_its_claim_leaves_the_run_to_the_next(env, tmp_path):
    argv = command(tmp_path, *SLOW, subsets="0")
    first = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    try:
        claim = wait_for(lambda: claim_of(tmp_path, 0), "the first runner's claim")
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(timeout=60)
    assert claim.is_file()  # the killed holder never cleaned up; its lock died with it
    assert not (tmp_path / "adhoc.csv").is_file()
    output = run(argv, env)
    assert "1 to run" in output and "finished 1 run(s)" in output, output
    rows = read_rows(tmp_path / "adhoc.csv")
    assert [(row["run_id"], row["status"]) for row in rows] == [
        ("e2e/prefix/n=50/subset=0/seed=0", "ok")
    ]


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not re.search(r"^State:\s+[ZX]", status, re.M)  # a zombie has ended


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="reads /proc")
def test_workers_end_with_their_runner_however_it_is_killed(env, tmp_path):
    """`kill -9` of a `--workers 2` runner takes its workers with it (no run goes on unwatched,
    writing rows nobody waits for); the next runner does both runs."""
    argv = command(tmp_path, *SLOW, "--workers", "2")
    runner = subprocess.Popen(argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL)
    try:
        wait_for(lambda: claim_of(tmp_path, 0) and claim_of(tmp_path, 1), "both workers' claims")
        workers = _children(runner.pid)
        assert len(workers) >= 2  # the two workers (and multiprocessing's resource tracker)
        runner.send_signal(signal.SIGKILL)
    finally:
        runner.wait(timeout=60)
    wait_for(lambda: not any(_alive(pid) for pid in workers), "the workers to end", timeout=30)
    assert not (tmp_path / "adhoc.csv").is_file()
    output = run(command(tmp_path, *SLOW), env)
    assert "2 to run" in output and "finished 2 run(s)" in output, output


@slurm_test
def test_slurm_a_cancelled_task_is_reported_and_a_rerun_finishes_it(
    slurm, reference, env, tmp_path
):
    argv = command(tmp_path, "--executor", "slurm", "--cpus-per-run", "1", "--max-parallel", "1")
    launcher = subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert launcher.stdout is not None
    lines = []
    for line in launcher.stdout:  # until it says which array it submitted
        lines.append(line)
        if "job array" in line:
            break
    array = array_of("".join(lines), slurm)
    # one task at a time: the second is still pending
    subprocess.run(["scancel", f"{array}_1"], check=True)
    rest, _ = launcher.communicate(timeout=TIMEOUT_S)
    output = "".join(lines) + rest
    assert launcher.returncode == 1, output
    # a pending task cancelled leaves the queue at once (a running one shows as cancelled)
    assert re.search(
        r"subset=1/seed=0 lost \((left the queue|cancelled).* without a result", output
    )
    assert "finished 1 run(s), 1 failed" in output, output
    assert list(table(tmp_path)) == ["e2e/prefix/n=50/subset=0/seed=0"]
    again = run(argv, env)
    assert "2 runs, 1 done, 1 to run" in again and "finished 1 run(s), 0 failed" in again, again
    assert table(tmp_path) == reference


@slurm_test
def test_slurm_requeued_tasks_run_their_runs_once(slurm, env, tmp_path):
    # a 2-minute limit: submitit takes any USR2 for its time-limit signal, and requeues a
    # timed-out task only when its function is checkpointable
    argv = [
        *command(tmp_path, "--executor", "slurm", "--cpus-per-run", "1", "--time", "2"),
        *("--no-wait", *SLOW),
    ]
    output = run(argv, env)
    array = array_of(output, slurm)
    assert "follow with:" in output, output
    wait_for(lambda: claim_of(tmp_path, 0), "task 0 to start its run")
    # the time-limit signal: the task checkpoints (RunTask.checkpoint) and requeues itself
    subprocess.run(["scancel", "--signal=USR2", f"{array}_0"], check=True)
    wait_for(lambda: claim_of(tmp_path, 1), "task 1 to start its run")
    # requeued by the cluster: killed (SIGTERM, then SIGKILL), then started again
    subprocess.run(["scontrol", "requeue", f"{array}_1"], check=True)
    released: set[str] = set()

    def all_ended() -> bool:
        states = task_states(array)
        for task, state in states.items():
            if state == "PENDING" and task not in released:
                # Slurm holds a requeued task ~2 min before it may start again: release it now
                subprocess.run(
                    ["scontrol", "update", f"JobId={task}", "StartTime=now"], check=False
                )
                released.add(task)
        return not states

    wait_for(all_ended, "both requeued tasks to finish", every=0.5)
    rows = read_rows(tmp_path / "adhoc.csv")
    assert sorted((row["run_id"], row["status"]) for row in rows) == [
        ("e2e/prefix/n=50/subset=0/seed=0", "ok"),
        ("e2e/prefix/n=50/subset=1/seed=0", "ok"),
    ]
    logs = [
        (tmp_path / ".submitit" / "adhoc" / f"{array}_{task}_0_log.out").read_text()
        for task in (0, 1)
    ]
    assert all(log.count("Starting with JobEnvironment") == 2 for log in logs), logs  # restarted
    assert "Job has timed out" in logs[0] and "requeued; the run starts again" in logs[0], logs[0]
    assert released == {f"{array}_0", f"{array}_1"}


def test_the_submitit_task_resubmits_itself_when_checkpointed():
    """What submitit calls on the time-limit or preemption signal: the same call again."""
    task = RunTask(threads=1)
    again = task.checkpoint({"run": "spec"}, "data", "results")
    assert again.function is task
    assert again.args == ({"run": "spec"}, "data", "results")
