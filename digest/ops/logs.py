"""Structured logs: one JSON object per line, carrying the ids of what the line is about.

Settings' LOGGING names `ContextFilter` and `JsonFormatter` here, so Django imports this
module while it configures logging, in every process (web, worker, beat, commands); that
import also connects the Celery signal handlers below (logging only: they change nothing
else). Code adds its own ids to every line of a block like this:

    with log_context(delivery_id=delivery.pk):
        log.info("sent", extra={"http_status": 250})  # delivery_id rides along

Inside a Celery task every line already carries `task_id`, `task_name`, `worker` and the
task's id arguments (`delivery_ids`, `source_id` ...), and each task logs one "task
started" and one "task finished" line of its own.
"""

from __future__ import annotations

import inspect
import logging
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any

from celery import signals
from django.utils.log import ServerFormatter as DjangoServerFormatter
from pythonjsonlogger.json import JsonFormatter as _BaseJsonFormatter

from .redact import redact

_context: ContextVar[Mapping[str, Any]] = ContextVar(
    "paperboy_log_context", default=MappingProxyType({})
)
# Task start times by task id, for the runtime on the "task finished" line.
_started: dict[str, float] = {}


@contextmanager
def log_context(**ids: Any) -> Iterator[None]:
    """Adds these fields to every log line written inside the block (nested blocks merge)."""
    token = _context.set({**_context.get(), **ids})
    try:
        yield
    finally:
        _context.reset(token)


class ContextFilter(logging.Filter):
    """Copies the current log context onto each record (a record's own extra wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return True


class JsonFormatter(_BaseJsonFormatter):
    """`{"time", "level", "logger", "message", ...ids}`, one object per line.

    Signed link tokens are replaced by "[token]" in the whole line (Django logs the
    path of every 4xx answer, and a bad or expired link is one).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("fmt", "%(levelname)s %(name)s %(message)s")
        kwargs.setdefault("rename_fields", {"levelname": "level", "name": "logger"})
        kwargs.setdefault("timestamp", "time")
        super().__init__(*args, **kwargs)

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class PlainFormatter(logging.Formatter):
    """The plain-text line (LOG_FORMAT=plain), tokens replaced as in JsonFormatter."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class ServerFormatter(DjangoServerFormatter):
    """runserver's request lines (`make run`, logger `django.server`) as Django writes
    them, tokens replaced: "GET /preferences/[token]/ HTTP/1.1" 200."""

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


# --- Celery -----------------------------------------------------------------------------


@signals.setup_logging.connect
def _leave_logging_to_django(**kwargs: Any) -> None:
    """Celery would replace the root handler with its own plain format; Django's LOGGING
    (configured before the worker starts) stays in charge instead. LOG_LEVEL sets the level."""


def task_ids(task: Any, args: tuple | list | None, kwargs: dict | None) -> dict[str, Any]:
    """The arguments of a task call that are ids (named `*_id` or `*_ids`), by name."""
    try:
        bound = inspect.signature(task.run).bind_partial(*(args or ()), **(kwargs or {}))
    except (TypeError, ValueError):
        return {}
    return {
        name: value
        for name, value in bound.arguments.items()
        if name.endswith("_id") or name.endswith("_ids")
    }


def _task_context(task: Any, task_id: str, args: Any, kwargs: Any) -> dict[str, Any]:
    return {
        "task_id": task_id,
        "task_name": task.name,
        "worker": getattr(task.request, "hostname", None),
        **task_ids(task, args, kwargs),
    }


@signals.task_prerun.connect
def _on_task_prerun(task_id=None, task=None, args=None, kwargs=None, **_: Any) -> None:
    fields = _task_context(task, task_id, args, kwargs)
    # Replaced, not reset, at the next task: a worker process runs one task at a time.
    _context.set(fields)
    _started[task_id] = time.monotonic()
    logging.getLogger("digest.tasks").info(
        "task started", extra={"retries": getattr(task.request, "retries", 0)}
    )


@signals.task_postrun.connect
def _on_task_postrun(task_id=None, task=None, retval=None, state=None, **_: Any) -> None:
    started = _started.pop(task_id, None)
    runtime = round(time.monotonic() - started, 3) if started is not None else None
    result = retval if isinstance(retval, (dict, int, str, float, bool, type(None))) else None
    logging.getLogger("digest.tasks").info(
        "task finished", extra={"state": state, "runtime": runtime, "result": result}
    )
    _context.set(MappingProxyType({}))


@signals.task_failure.connect
def _on_task_failure(task_id=None, exception=None, sender=None, **_: Any) -> None:
    logging.getLogger("digest.tasks").error(
        "task failed: %s",
        exception.__class__.__name__ if exception else "unknown",
        extra={"task_id": task_id, "task_name": getattr(sender, "name", None)},
    )


@signals.task_retry.connect
def _on_task_retry(request=None, reason=None, sender=None, **_: Any) -> None:
    logging.getLogger("digest.tasks").warning(
        "task retry: %s", reason, extra={"task_id": getattr(request, "id", None)}
    )
