r"""Run a training command with a CPU-time budget, the same way for our trainer and for mace-torch.

On a shared machine the wall clock measures the neighbours' load as much as the code, so the budget
is CPU time: the user + system seconds of the training process (and its threads and children, read
from ``/proc/<pid>/stat``), counted from the moment its log contains ``marker`` ("Started training"
for both trainers, printed after data loading, E0s, statistics and neighbour lists).  When the
budget is used up the process gets ``SIGTERM``; both trainers have saved the best-validation weights
by then.  The command runs under ``/usr/bin/time -v`` (peak resident memory).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["BudgetResult", "cpu_seconds", "run_with_cpu_budget"]

MARKER = "Started training"


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` and its waited-for children (``/proc/pid/stat``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return ticks / os.sysconf("SC_CLK_TCK")


class BudgetResult(dict):
    """``wall_seconds``, ``cpu_seconds_training``, ``peak_rss_MiB``, ``stopped_by_budget``, ``returncode``."""


def run_with_cpu_budget(cmd: list[str], log: Path, budget_cpu_s: float | None, *,
                        marker: str = MARKER, env: dict | None = None) -> BudgetResult:
    """Run ``cmd`` (stdout+stderr to ``log``); SIGTERM it after ``budget_cpu_s`` CPU seconds of training."""
    timing = log.with_suffix(".time")
    env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    start, cpu_start, stopped = time.perf_counter(), None, False
    with open(log, "w") as f:
        proc = subprocess.Popen(["/usr/bin/time", "-v", "-o", str(timing), *cmd], stdout=f,
                                stderr=subprocess.STDOUT, env=env)
        child = None
        while proc.poll() is None:
            time.sleep(0.5)
            if child is None:
                found = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
                child = int(found[0]) if found else None
                continue
            try:
                used = cpu_seconds(child)
            except (FileNotFoundError, ProcessLookupError):
                continue
            if cpu_start is None and marker in log.read_text(errors="replace"):
                cpu_start = used
            if budget_cpu_s is not None and cpu_start is not None and used - cpu_start >= budget_cpu_s:
                os.kill(child, signal.SIGTERM)  # the trainer, not /usr/bin/time (which then reports)
                proc.wait()
                stopped = True
                used_training = used - cpu_start
                break
        else:
            used_training = None
    report = timing.read_text() if timing.is_file() else ""
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", report)
    user = re.search(r"User time \(seconds\): ([\d.]+)", report)
    system = re.search(r"System time \(seconds\): ([\d.]+)", report)
    total_cpu = float(user.group(1)) + float(system.group(1)) if user and system else None
    if used_training is None and total_cpu is not None and cpu_start is not None:
        used_training = total_cpu - cpu_start
    return BudgetResult(wall_seconds=round(time.perf_counter() - start, 1),
                        cpu_seconds_training=None if used_training is None else round(used_training, 1),
                        cpu_seconds_total=total_cpu,
                        peak_rss_MiB=round(int(rss.group(1)) / 1024, 1) if rss else None,
                        stopped_by_budget=stopped, returncode=proc.returncode)
