"""`manage.py` in a separate process, for tests where real processes race."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def manage(env: dict, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen, timeout: float = 300) -> str:
    """The process's output, once it has exited successfully."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out
