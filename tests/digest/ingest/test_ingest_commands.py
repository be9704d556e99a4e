"""`manage.py ingest` and `manage.py load_snapshot`: one line per run, clear one-line failures."""

import re
import sqlite3
from collections import OrderedDict
from contextlib import closing
from datetime import UTC, date, datetime
from io import StringIO
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError
from django.utils import timezone

from digest import selectors
from digest.models import Delivery, FetchRun, Paper, Source
from digest.ranking import picking, semantic
from digest.ranking.semantic import TermStore
from tests.factories import make_subscriber
from tests.helpers.feeds import (
    API_PAGE,
    ATOM_FEED,
    ATOM_TYPE,
    RSS_FEED,
    RSS_TYPE,
    Reply,
    feed_bytes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_http", "no_default_sources")]


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_ingest_url_pulls_one_listing_and_prints_its_counts(feed_server):
    url = feed_server.serve_file("/atom/cs.AI", ATOM_FEED)
    output = run("ingest", "--url", url, "--kind", "arxiv-rss")
    assert output.strip() == (
        f"ad-hoc [arxiv-rss] ok: 87 new, 0 updated, 0 skipped (HTTP 200) {url} -- the feed "
        "is cut off or malformed (line 1233, column 84: no element found): kept the 87 "
        "entries read; it is read again in full at the next pull"
    )
    assert Paper.objects.count() == 87


def test_what_an_ok_pull_skipped_is_said_on_its_line(feed_server):
    url = feed_server.serve_file("/rss/cs.AI", RSS_FEED, RSS_TYPE)
    output = run("ingest", "--url", url, "--kind", "arxiv-rss")
    assert output.strip().endswith(
        f"{url} -- skipped 1 revision(s) (replace, replace-cross) of papers not held: a "
        "revision is not new"
    )


def test_ingest_pulls_every_enabled_source_one_line_each(feed_server):
    Source.objects.create(
        name="cs.AI", kind="arxiv-rss", url=feed_server.serve_file("/a", ATOM_FEED)
    )
    Source.objects.create(
        name="down", kind="arxiv-rss", url=feed_server.serve("/d", Reply(status=404))
    )
    lines = run("ingest").splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("cs.AI [arxiv-rss] ok: 87 new")
    assert lines[1].startswith("down [arxiv-rss] failed:")
    assert "HTTP 404" in lines[1]


def test_ingest_fails_when_every_source_failed(feed_server):
    Source.objects.create(
        name="down", kind="arxiv-rss", url=feed_server.serve("/d", Reply(status=404))
    )
    with pytest.raises(CommandError, match="all 1 sources failed"):
        run("ingest")


def test_ingest_says_so_when_there_are_no_sources():
    assert run("ingest").strip() == "No enabled sources."


# A closed port: a pull that should have been refused fails there, never on the internet.
NOWHERE = ("--url", "http://127.0.0.1:9/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--url", "http://127.0.0.1:9/", "--kind", "rss"), "invalid choice: 'rss'"),
        (("--url", "file:///etc/passwd", "--kind", "arxiv-rss"), "not an http(s) URL"),
        (("--url", "http://127.0.0.1:9/"), "--url and --kind go together"),
        (("--kind", "hf-daily"), "--url and --kind go together"),
        (("--since", "2025-02-30"), "not a date (YYYY-MM-DD): '2025-02-30'"),
        (("--since", "2025-08-10", "--until", "2025-08-01"), "--since 2025-08-10 is after"),
        (("--kind", "hf-daily", "--since", "2025-08-01"), "backfill from --kind arxiv-api"),
        (("--kind", "arxiv-rss", "--category", "cs.LG", "--since", "2025-08-01"), "need --kind"),
        (("--category", "cs.LG"), "--category needs --kind arxiv-rss"),
        (("--kind", "arxiv-rss", "--category", "cs.LG/../x"), "not arXiv categories"),
        # arXiv answers a category it does not have with an empty listing, not an error.
        (
            ("--kind", "arxiv-rss", "--category", "cs.AI", "--category", "cs.XX", *NOWHERE),
            "not arXiv categories: cs.XX (the list: https://arxiv.org/category_taxonomy)",
        ),
        (("--since", "2025-08-01", "--category", "cs.XX", *NOWHERE), "not arXiv categories"),
        (("--kind", "arxiv-rss", "--category", "cs.lg", *NOWHERE), "cs.lg (did you mean cs.LG?)"),
        (("--category", "cs.LG", "--max-results", "0"), "not a positive whole number"),
    ],
)
def test_ingest_refuses_bad_input_with_one_clear_line(args, message):
    with pytest.raises(CommandError) as caught:
        run("ingest", *args)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
    assert not FetchRun.objects.exists()


def test_ingest_backfills_a_date_range_from_the_arxiv_api(feed_server):
    endpoint = feed_server.serve_file("/api/query", API_PAGE)
    output = run(
        "ingest",
        "--url",
        endpoint,
        "--since",
        "2019-08-01",
        "--until",
        "2019-08-10",
        "--category",
        "cs.LG",
        "--category",
        "stat.ML",
        "--max-results",
        "50",
    )
    assert output.startswith("ad-hoc [arxiv-api] ok: 3 new, 0 updated, 0 skipped (HTTP 200)")
    (path, _, _), *_ = feed_server.hits("/api/query")
    params = parse_qs(urlsplit(path).query)
    assert params["search_query"] == [
        "(cat:cs.LG OR cat:stat.ML) AND submittedDate:[201908010000 TO 201908102359]"
    ]
    assert (params["start"], params["max_results"]) == (["0"], ["50"])
    assert FetchRun.objects.get().kind == "arxiv-api"
    assert Paper.objects.count() == 3


def test_ingest_pulls_the_announcement_feed_of_categories(feed_server):
    feed_server.serve_file("/rss/cs.AI+cs.LG", ATOM_FEED)
    folder = feed_server.url("/rss/")
    output = run(
        "ingest",
        "--kind",
        "arxiv-rss",
        "--category",
        "cs.AI",
        "--category",
        "cs.LG",
        "--url",
        folder,
    )
    assert output.startswith("ad-hoc [arxiv-rss] ok: 87 new")
    assert "/rss/cs.AI+cs.LG -- the feed is cut off" in output  # The capture is cut short.


def test_a_failed_ad_hoc_pull_is_a_command_error_not_a_traceback(feed_server):
    url = feed_server.serve("/gone", Reply(status=410))
    with pytest.raises(CommandError, match=r"pull of .* failed: permanent: HTTP 410"):
        run("ingest", "--url", url, "--kind", "arxiv-rss")
    assert FetchRun.objects.get().status == "failed"


def test_a_locked_database_is_a_command_error_not_a_traceback(feed_server, monkeypatch):
    url = feed_server.serve_file("/atom/cs.AI", ATOM_FEED)

    def locked(*args, **kwargs):  # another writer held SQLite's lock past its timeout
        raise OperationalError("database is locked")

    monkeypatch.setattr(FetchRun, "save", locked)
    with pytest.raises(CommandError, match=r"^could not write to the database: database is lo"):
        run("ingest", "--url", url, "--kind", "arxiv-rss")
    assert Paper.objects.count() == 0


def test_a_database_locked_for_every_source_fails_each_and_the_command(feed_server, monkeypatch):
    url = feed_server.serve_file("/atom/cs.AI", ATOM_FEED)
    Source.objects.create(name="cs.AI", kind="arxiv-rss", url=url)

    def locked(*args, **kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(FetchRun, "save", locked)
    out = StringIO()
    with pytest.raises(CommandError, match=r"^all 1 sources failed"):
        call_command("ingest", stdout=out)
    assert "-- could not write to the database: database is locked" in out.getvalue()
    assert Paper.objects.count() == 0


def test_load_snapshot_loads_real_papers_for_today_and_is_idempotent():
    first = run("load_snapshot")
    assert "92 new" in first
    assert "92 papers announced today" in first
    second = run("load_snapshot")
    assert "0 new, 0 updated, 0 skipped" in second
    assert Paper.objects.filter(announced_on=timezone.localdate()).count() == 92


def test_load_snapshot_prepares_the_days_ranking_so_the_first_page_finds_it_ready(
    tmp_path, monkeypatch
):
    store = TermStore(tmp_path / "semantic-terms.sqlite3")
    fresh = semantic.Encoder(semantic.model_path(), store=store)
    monkeypatch.setattr(semantic, "_shared_encoder", lambda: fresh)
    monkeypatch.setattr(picking, "_FITTED", OrderedDict())  # as in a process starting now
    output = run("load_snapshot")
    prepared = re.search(r"Ranking prepared: (\d+) terms of today's vocabulary encoded", output)
    assert prepared and int(prepared.group(1)) > 500
    with closing(sqlite3.connect(store.path)) as db:
        (stored,) = db.execute("SELECT count(*) FROM term_vector").fetchone()
    assert stored >= int(prepared.group(1))


def test_a_backfill_of_a_missed_listing_reaches_the_next_digest(feed_server, time_machine):
    # Alice's last digest went out on Tuesday morning; Wednesday's listing never came
    # through the feeds, so staff backfill from the API. Its paper was submitted on
    # Monday after arXiv's 14:00 deadline: announced Tuesday evening, in Wednesday's
    # listing, and so in Alice's next digest, though the API knows only Monday.
    time_machine.move_to(datetime(2025, 8, 20, 12, 0, tzinfo=UTC))
    alice = make_subscriber("alice@example.org")
    sent = Delivery.objects.create(
        subscriber=alice, digest_date=date(2025, 8, 19), status=Delivery.Status.SENT
    )
    Delivery.objects.filter(pk=sent.pk).update(created_at=datetime(2025, 8, 19, 9, tzinfo=UTC))
    page = feed_bytes(API_PAGE).replace(
        b"<published>2015-01-21T02:41:55Z</published>",
        b"<published>2025-08-18T19:00:00Z</published>",  # Monday 15:00 in New York
    )
    endpoint = feed_server.serve("/api/query", Reply(body=page, content_type=ATOM_TYPE))

    run("ingest", "--url", endpoint, "--since", "2025-08-18", "--until", "2025-08-18")

    since = selectors.digest_since([alice], date(2025, 8, 20), default=1)[alice.pk]
    offered = {doc.arxiv_id for doc in selectors.paper_pool(since)}
    assert "1501.05039" in offered
    assert Paper.objects.get(arxiv_id="1501.05039").announced_on == date(2025, 8, 20)
