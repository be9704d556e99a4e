"""Passes over the configured sources: every enabled one (`manage.py ingest`, the
`ingest_all` task) or those due (beat's hourly `ingest_due`). Each source is pulled on
its own: one that fails, even to record its run, never stops the others."""

from __future__ import annotations

from datetime import datetime

from django.db import DatabaseError
from django.utils import timezone

from digest.lib import progress
from digest.models import FetchRun, Source

from .pipeline import FETCH_RUN_URL_LENGTH, ingest_source, run_log


def ingest_all() -> list[FetchRun]:
    """Pull every enabled source; one failing source never stops the others."""
    sources = list(Source.objects.filter(enabled=True))
    watch = progress.current()  # `manage.py ingest` counts sources, not each one's pages
    watch.set_total(len(sources))
    runs = []
    for source in sources:
        with progress.silenced():
            run = _ingest_isolated(source)
        failed = run.status == FetchRun.Status.FAILED
        watch.advance(failed=int(failed), failure=f"{source.name}: {run.error[:120]}" * failed)
        runs.append(run)
    return runs


def ingest_due(now: datetime) -> list[FetchRun]:
    """Pull each enabled source whose own interval (`Source.fetch_every`) is up; one
    failing source never stops the others."""
    return [_ingest_isolated(source) for source in list(Source.objects.due(now))]


def _ingest_isolated(source: Source) -> FetchRun:
    """`ingest_source`, where a database that refuses the run's own record (SQLite locked
    past its timeout, a lost connection) fails this source alone, with an error logged.

    The run returned then is not saved. If its start was never recorded, the source is
    still due and the next pass pulls it; if only its end was not, its row reads
    "running", which the cockpit reports after an hour. Either way its papers were
    written whole or not at all (one transaction).
    """
    try:
        return ingest_source(source)
    except DatabaseError as error:
        run_log.error(
            "fetch run of source “%s” could not be recorded: %s",
            source.name,
            error,
            exc_info=True,
            extra={"source_id": source.pk, "kind": source.kind, "url": source.url},
        )
        now = timezone.now()
        return FetchRun(
            source=source,
            kind=source.kind,
            url=source.url[:FETCH_RUN_URL_LENGTH],
            status=FetchRun.Status.FAILED,
            started_at=now,
            finished_at=now,
            error=f"could not write to the database: {error}. This run is not recorded "
            "(or reads as running if its start was); its papers were written whole or not "
            "at all.",
        )
