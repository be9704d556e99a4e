"""Each source is pulled on its own schedule: beat's hourly ingest takes the ones due."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from digest import tasks
from digest.models import FetchRun, Source

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def source(name: str, *, every=timedelta(hours=3), enabled=True, url=None) -> Source:
    return Source.objects.create(
        name=name,
        kind="arxiv-rss",
        url=url or f"http://127.0.0.1:9/{name}",
        fetch_every=every,
        enabled=enabled,
    )


def ran_at(src: Source, when: datetime) -> None:
    run = FetchRun.objects.create(source=src, kind=src.kind, url=src.url, status="ok")
    FetchRun.objects.filter(pk=run.pk).update(started_at=when)


def test_the_default_sources_come_with_their_schedules():
    schedules = dict(Source.objects.values_list("kind", "fetch_every").distinct())
    assert schedules["hf-daily"] == timedelta(hours=1)
    assert schedules["arxiv-rss"] == timedelta(hours=3)


def test_a_source_is_due_when_its_interval_is_up(no_default_sources):
    never_run = source("never-run")
    fresh = source("fresh")
    ran_at(fresh, NOON - timedelta(hours=1))
    # Started three hours ago, give or take the beat's own delay: due, not an hour late.
    almost = source("almost")
    ran_at(almost, NOON - timedelta(hours=2, minutes=58))
    stale = source("stale")
    ran_at(stale, NOON - timedelta(days=1))
    ran_at(stale, NOON - timedelta(hours=4))
    hourly = source("hourly", every=timedelta(hours=1))
    ran_at(hourly, NOON - timedelta(hours=1))
    source("disabled", enabled=False)

    due = set(Source.objects.due(NOON).values_list("name", flat=True))

    assert due == {"never-run", "almost", "stale", "hourly"}
    assert never_run.name in due and fresh.name not in due


def test_an_interval_shorter_than_five_minutes_is_refused(no_default_sources):
    from django.db import IntegrityError

    with pytest.raises(IntegrityError):
        source("hammer", every=timedelta(seconds=30))


def test_the_hourly_task_pulls_only_the_due_sources(no_default_sources, feed_server, fast_http):
    url = feed_server.serve_file("/cs.AI", "arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml")
    due = source("due", url=url)
    not_due = source("not-due", url=feed_server.url("/other"))
    with time_machine.travel(NOON - timedelta(minutes=30)):
        ran_at(not_due, NOON - timedelta(minutes=30))

    with time_machine.travel(NOON):
        assert tasks.ingest_due() == 1

    assert FetchRun.objects.filter(source=due, status="ok").count() == 1
    assert FetchRun.objects.filter(source=not_due).count() == 1  # only the earlier one
    assert feed_server.hits("/other") == []
