"""A pass over the sources (`ingest_all`, beat's hourly `ingest_due`) pulls each source on
its own: a database that refuses one source's run record (SQLite locked past its
timeout) fails that source alone, says so in the logs and the command's output, and
the sources after it are still pulled."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import OperationalError

from digest import tasks
from digest.ingest.passes import ingest_all
from digest.models import FetchRun, Paper, Source
from tests.helpers.feeds import API_PAGE, ATOM_FEED

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_http", "no_default_sources")]

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def sources(feed_server):
    """Two sources listing different papers (87 and 3), pulled in name order."""
    locked = Source.objects.create(
        name="a locked", kind="arxiv-rss", url=feed_server.serve_file("/a", ATOM_FEED)
    )
    good = Source.objects.create(
        name="b good", kind="arxiv-api", url=feed_server.serve_file("/b", API_PAGE)
    )
    return locked, good


def lock_runs_of(monkeypatch, source: Source, *, when: str) -> None:
    """Another writer holds SQLite's lock past its timeout whenever this source's run is
    created (`when="start"`) or saved at its end (`when="end"`)."""
    save = FetchRun.save

    def locked(run: FetchRun, *args, **kwargs) -> None:
        if run.source_id == source.pk and (run.pk is None) == (when == "start"):
            raise OperationalError("database is locked")
        save(run, *args, **kwargs)

    monkeypatch.setattr(FetchRun, "save", locked)


def test_a_run_the_database_refuses_to_start_fails_only_its_own_source(
    sources, monkeypatch, caplog
):
    locked, good = sources
    lock_runs_of(monkeypatch, locked, when="start")

    with caplog.at_level(logging.ERROR, logger="digest.ingest"):
        runs = {run.source.name: run for run in ingest_all()}

    assert (runs["b good"].status, runs["b good"].new_count) == ("ok", 3)
    assert runs["a locked"].status == FetchRun.Status.FAILED
    assert runs["a locked"].error.startswith("could not write to the database: database is lo")
    assert list(FetchRun.objects.values_list("source__name", flat=True)) == ["b good"]
    assert Paper.objects.count() == 3
    [record] = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert "“a locked”" in record.getMessage()
    assert "database is locked" in record.getMessage()
    assert record.source_id == locked.pk


def test_a_run_the_database_refuses_to_finish_fails_only_its_own_source(sources, monkeypatch):
    locked, good = sources
    lock_runs_of(monkeypatch, locked, when="end")

    runs = {run.source.name: run for run in ingest_all()}

    assert (runs["b good"].status, runs["b good"].new_count) == ("ok", 3)
    assert runs["a locked"].status == FetchRun.Status.FAILED
    # Its start was recorded: it reads "running" until the cockpit's unfinished-runs
    # warning names it an hour later, and its papers were written whole.
    assert FetchRun.objects.get(source=locked).status == FetchRun.Status.RUNNING
    assert FetchRun.objects.get(source=good).status == FetchRun.Status.OK
    assert Paper.objects.count() == 87 + 3


def test_the_hourly_pass_pulls_the_sources_after_a_locked_one(sources, monkeypatch):
    locked, good = sources
    lock_runs_of(monkeypatch, locked, when="start")

    with time_machine.travel(NOON):
        assert tasks.ingest_due() == 2

    assert FetchRun.objects.get(source=good).status == FetchRun.Status.OK
    # Nothing was recorded for the locked source, so the next hourly pass pulls it.
    with time_machine.travel(NOON):
        assert list(Source.objects.due(NOON)) == [locked]


def test_the_command_lists_the_locked_source_and_pulls_the_others(sources, monkeypatch):
    locked, _ = sources
    lock_runs_of(monkeypatch, locked, when="start")
    out = StringIO()

    call_command("ingest", stdout=out)

    first, second = out.getvalue().splitlines()
    assert first.startswith("a locked [arxiv-rss] failed:")
    assert "-- could not write to the database: database is locked" in first
    assert second.startswith("b good [arxiv-api] ok: 3 new")
