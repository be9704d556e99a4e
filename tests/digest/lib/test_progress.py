"""Progress of long commands: a bar on a terminal, periodic plain lines elsewhere, and a
closing summary in both. Time comes from a fake clock, never the wall."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import call_command

from digest.lib import progress
from digest.lib.progress import Progress
from digest.models import Source
from tests.factories import make_paper, make_subscriber
from tests.helpers.feeds import API_PAGE, ATOM_FEED, Reply


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


class Pipe(io.StringIO):
    def isatty(self) -> bool:
        return False


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_on_a_terminal_a_bar_shows_counts_and_rate():
    out = Terminal()
    watch = Progress("encode", total=10, unit="descriptions", stream=out)
    for _ in range(10):
        watch.advance()
    watch.close()
    text = out.getvalue()
    assert "encode" in text
    assert "10/10" in text
    assert "descriptions/s" in text or "s/ descriptions" in text


def test_off_a_terminal_it_writes_a_plain_line_every_so_often():
    out, clock = Pipe(), Clock()
    watch = Progress("send", total=1000, unit="digests", stream=out, every=10, clock=clock)
    watch.advance(100)  # no time has passed: no line yet
    clock.now += 10
    watch.advance(100)
    clock.now += 5
    watch.advance(100)  # 5 s since the last line: quiet
    clock.now += 5
    watch.advance(100)
    lines = out.getvalue().splitlines()
    assert lines == [
        "send: 200/1,000 digests (20%), 20.0/s, about 40 s left",
        "send: 400/1,000 digests (40%), 20.0/s, about 30 s left",
    ]
    assert "\r" not in out.getvalue()  # no bar control characters in a log


def test_the_summary_says_how_many_how_long_and_what_failed():
    clock = Clock()
    watch = Progress("ingest", unit="sources", stream=Pipe(), clock=clock)
    watch.advance()
    watch.advance(failed=1, failure="arXiv cs.LG: HTTP 503")
    clock.now += 125
    assert watch.close() == (
        "ingest: 2 sources in 2 min 05 s (0.0/s); 1 failed: arXiv cs.LG: HTTP 503"
    )


def test_outside_a_command_services_report_to_no_one():
    watch = progress.current()
    watch.set_total(3)
    watch.advance(3)  # nothing written anywhere, nothing raised
    assert progress.current() is not watch


def test_a_tracked_job_sees_its_services_reports():
    with progress.track("job", Pipe()) as watch:
        progress.current().set_total(2)
        progress.current().advance(2)
        with progress.silenced():
            progress.current().advance(50)
    assert (watch.total, watch.done) == (2, 2)


@pytest.mark.django_db
def test_send_digests_all_ends_with_a_summary_on_stderr(on_monday):
    make_paper("Knowledge distillation", categories=("cs.CL",))
    make_subscriber("alice@example.org", keywords=["distillation"])
    out, err = io.StringIO(), io.StringIO()
    call_command("send_digests", "--all", stdout=out, stderr=err)
    assert out.getvalue().startswith("planned 1, sent 1")
    assert err.getvalue().startswith("send_digests: 1 digests in ")
    assert err.getvalue().rstrip().endswith("none failed")


@pytest.mark.django_db
def test_load_snapshot_counts_its_files():
    err = io.StringIO()
    call_command("load_snapshot", stdout=io.StringIO(), stderr=err)
    assert err.getvalue().startswith("load_snapshot: 3 files in ")


def test_durations_read_as_people_write_them():
    assert progress._duration(5) == "5 s"
    assert progress._duration(65) == "1 min 05 s"
    assert progress._duration(timedelta(hours=2, minutes=3).total_seconds()) == "2 h 03 min"


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_http", "no_default_sources")
def test_an_api_backfill_counts_the_papers_it_fetched(feed_server):
    endpoint = feed_server.serve_file("/api/query", API_PAGE)
    err = io.StringIO()
    call_command(
        "ingest", "--url", endpoint, "--since", "2019-08-01", "--category", "cs.LG",
        stdout=io.StringIO(), stderr=err,
    )  # fmt: skip
    assert err.getvalue().startswith("ingest: 3 papers in ")


@pytest.mark.django_db
@pytest.mark.usefixtures("fast_http", "no_default_sources")
def test_ingest_of_every_source_names_the_ones_that_failed(feed_server):
    Source.objects.create(name="up", kind="arxiv-rss", url=feed_server.serve_file("/a", ATOM_FEED))
    Source.objects.create(
        name="down", kind="arxiv-rss", url=feed_server.serve("/d", Reply(status=404))
    )
    err = io.StringIO()
    call_command("ingest", stdout=io.StringIO(), stderr=err)
    summary = err.getvalue().strip().splitlines()[-1]
    assert summary.startswith("ingest: 2 sources in ")
    assert "1 failed: down: permanent" in summary
