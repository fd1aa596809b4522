"""Peak memory of a command and of the processes it starts, as the machine pays it.

A bench cannot take ``ru_maxrss`` for this: on Linux a process's peak RSS starts from that of
the process that started it (the count is carried over fork and exec: a child of a bench
holding 1 GB reports at least 1 GB, and so does ``os.wait4``), and it leaves out the
processes the command starts itself (the extract's row-building worker). :func:`run`
samples the resident set of the process and all its descendants instead, summed, every
``interval`` seconds; a spike shorter than that can be missed.
"""

from __future__ import annotations

import contextlib
import subprocess
import threading
import time
from collections.abc import Mapping

import psutil


def tree_rss(proc: psutil.Process) -> int:
    """Bytes resident in ``proc`` and its descendants now (0 once it has exited)."""
    try:
        procs = [proc, *proc.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    total = 0
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):  # ended since the listing
            total += p.memory_info().rss
    return total


def run(
    argv: list[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str | None = None,
    interval: float = 0.02,
) -> tuple[subprocess.CompletedProcess[str], float, float]:
    """Run ``argv`` to its end: (the finished process with its output, wall seconds from
    start to exit, peak MB resident in it and its descendants)."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=cwd
    )  # returns once the child has exec'd: no sample sees this process's memory
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        try:
            me = psutil.Process(proc.pid)
        except psutil.NoSuchProcess:
            return
        while not done.is_set():
            peak = max(peak, tree_rss(me))
            done.wait(interval)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.perf_counter() - started
    done.set()
    sampler.join()
    return subprocess.CompletedProcess(argv, proc.returncode, out, err), wall, peak / 2**20
