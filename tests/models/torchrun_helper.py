"""Run ``torchrun`` in a test so that a failure shows its cause, and a failure of the launcher itself
(rendezvous, sockets) on a busy CI machine does not fail the test by itself."""

from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path


def torchrun(args: Sequence[str], *, out: Path, cwd: Path, env: Mapping[str, str], nproc: int = 2,
             timeout: float = 600, attempts: int = 2) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --standalone --nproc-per-node nproc *args``.

    A run that exits non-zero is repeated from scratch (``out`` removed) up to ``attempts`` times, with
    a warning that carries the failed run's stderr; when every attempt fails the assertion message
    carries the last stderr, so that CI logs say why.
    """
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           *args]
    errors: list[str] = []
    for attempt in range(attempts):
        shutil.rmtree(out, ignore_errors=True)
        proc = subprocess.run(cmd, cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout)
        if proc.returncode == 0:
            if errors:
                warnings.warn(f"torchrun attempt 1 failed, attempt {attempt + 1} passed; the failure was:\n"
                              + errors[-1], stacklevel=2)
            return proc
        errors.append(f"exit {proc.returncode}\n--- stdout ---\n{proc.stdout[-3000:]}\n"
                      f"--- stderr ---\n{proc.stderr[-6000:]}")
    raise AssertionError(f"torchrun failed {attempts} times; the last failure:\n{errors[-1]}")
