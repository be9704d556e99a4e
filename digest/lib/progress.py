"""Progress of long commands: a bar on a terminal, plain periodic lines elsewhere, and
always a closing summary (how many, how long, what failed).

A command opens a `track(...)`; the services it calls report through `current()`
without knowing whether anyone watches (outside a `track`, reports go nowhere). On a
terminal the bar is tqdm's (counts, rate, time left); in a log or a pipe one line is
written every `every` seconds, so cron mail and journald stay readable.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from tqdm import tqdm

log = logging.getLogger(__name__)


class Stream(Protocol):
    def write(self, text: str) -> Any: ...
    def isatty(self) -> bool: ...


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s" if minutes else f"{seconds} s"


@dataclass
class Progress:
    """Counts of one long job; `advance` after each step, `close` for the summary."""

    label: str
    total: int | None = None
    unit: str = "items"
    stream: Stream | None = None
    every: float = 10.0
    clock: Callable[[], float] = time.monotonic
    done: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)
    _bar: Any = None
    _started: float = 0.0
    _last_line: float = 0.0

    def __post_init__(self) -> None:
        self._started = self._last_line = self.clock()
        if self.stream is not None and _is_tty(self.stream):
            self._bar = tqdm(
                total=self.total, desc=self.label, unit=f" {self.unit}", file=self.stream
            )

    def set_total(self, total: int) -> None:
        self.total = total
        if self._bar is not None:
            self._bar.total = total
            self._bar.refresh()

    def advance(self, count: int = 1, *, failed: int = 0, failure: str = "") -> None:
        self.done += count
        self.failed += failed
        if failure:
            self.failures.append(failure)
        if self._bar is not None:
            self._bar.update(count)
        elif self.stream is not None and self.clock() - self._last_line >= self.every:
            self._last_line = self.clock()
            self.stream.write(self.line() + "\n")

    def line(self) -> str:
        """'encode: 1,200/5,000 items (24%), 300.0/s, about 13 s left'"""
        elapsed = max(self.clock() - self._started, 1e-9)
        rate = self.done / elapsed
        text = f"{self.label}: {self.done:,}"
        if self.total:
            text += f"/{self.total:,} {self.unit} ({self.done / self.total:.0%})"
        else:
            text += f" {self.unit}"
        text += f", {rate:.1f}/s"
        if self.total and rate > 0 and self.done < self.total:
            text += f", about {_duration((self.total - self.done) / rate)} left"
        return text

    def summary(self) -> str:
        elapsed = self.clock() - self._started
        text = f"{self.label}: {self.done:,} {self.unit} in {_duration(elapsed)}"
        if elapsed > 0 and self.done:
            text += f" ({self.done / elapsed:.1f}/s)"
        text += f"; {self.failed:,} failed" if self.failed else "; none failed"
        if self.failures:
            shown = self.failures[:5]
            more = len(self.failures) - len(shown)
            text += ": " + "; ".join(shown) + (f"; and {more} more" if more else "")
        return text

    def close(self) -> str:
        if self._bar is not None:
            self._bar.close()
        summary = self.summary()
        log.info(summary)
        return summary


def _is_tty(stream: Stream) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):  # a closed or bare stream: not a terminal
        return False


_current: ContextVar[Progress | None] = ContextVar("paperboy_progress", default=None)


class _Silent(Progress):
    """What services report to when no command watches: counts, writes nothing."""


def current() -> Progress:
    """The job being watched, or a silent one (services call this unconditionally)."""
    return _current.get() or _Silent("")


@contextmanager
def silenced() -> Iterator[None]:
    """Inner steps report to no one (a job counting sources hides each one's pages)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def track(label: str, stream: Stream | None, **options: Any) -> Iterator[Progress]:
    """Watches a job for its duration; the services it calls report via `current()`."""
    progress = Progress(label, stream=stream, **options)
    token = _current.set(progress)
    try:
        yield progress
    finally:
        _current.reset(token)
        if progress._bar is not None:
            progress._bar.close()
