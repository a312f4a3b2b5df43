"""Running a child process and measuring it: wall time, and its own CPU time and peak RSS.

The CPU time and peak RSS are the child's own (os.wait4's rusage), not this process's
cumulative ones.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.harness.progress import Progress
from bench.harness.tree import TreeSample, TreeSampler

ROOT = Path(__file__).resolve().parents[2]
HEARTBEAT_SECONDS = 30.0


class ProgramFailedError(RuntimeError):
    """A child process exited with an error."""


@dataclass
class ChildRun:
    """What one child process cost (CPU: user + system; peak RSS: ru_maxrss)."""

    wall_s: float
    maxrss_kib: int
    cpu_s: float
    tree: TreeSample | None = None


def tail(path: Path, lines: int = 30) -> str:
    """The last `lines` lines of a log."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextmanager
def _heartbeat(name: str, progress: Progress | None):
    """Print a line every HEARTBEAT_SECONDS while the block runs."""
    done = threading.Event()
    started = time.perf_counter()

    def beat() -> None:
        while not done.wait(HEARTBEAT_SECONDS):
            if progress:
                progress(f"  ... {name} still running ({time.perf_counter() - started:.0f} s)")

    threading.Thread(target=beat, daemon=True).start()
    try:
        yield
    finally:
        done.set()


def _wait(proc: subprocess.Popen, sampler: TreeSampler | None) -> tuple[int, os.struct_rusage]:
    """os.wait4 on `proc` (sampling its tree meanwhile); kills it if interrupted."""
    try:
        if sampler:
            with sampler:
                _, status, usage = os.wait4(proc.pid, 0)
        else:
            _, status, usage = os.wait4(proc.pid, 0)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return status, usage


def run_child(
    name: str,
    argv: Sequence[str],
    log: Path,
    progress: Progress | None = None,
    *,
    tree: bool = False,
) -> ChildRun:
    """Run `argv` (cwd: the repository) with its output in `log`, and measure it.

    With `tree`, the process tree is sampled too (TreeSampler). The CPU time includes that of
    the child's own children once it has waited for them; the peak RSS is the largest single
    process's. Raises ProgramFailedError, with the end of the log, if the child fails.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out, _heartbeat(name, progress):
        started = time.perf_counter()
        proc = subprocess.Popen(list(argv), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
        sampler = TreeSampler(proc.pid) if tree else None
        status, usage = _wait(proc, sampler)
        wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise ProgramFailedError(
            f"{name} failed (exit {code}): {' '.join(argv)}\n--- end of {log} ---\n{tail(log)}"
        )
    cpu = usage.ru_utime + usage.ru_stime
    return ChildRun(wall, usage.ru_maxrss, cpu, sampler.result if sampler else None)


def run_measured(
    name: str, argv: Sequence[str], log: Path, progress: Progress | None = None
) -> tuple[float, int, float]:
    """run_child without tree sampling: (wall seconds, peak RSS KiB, CPU seconds)."""
    run = run_child(name, argv, log, progress)
    return run.wall_s, run.maxrss_kib, run.cpu_s
