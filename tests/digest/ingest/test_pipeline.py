"""Ingestion end to end: a real loopback server, the real parsers, a real SQLite database."""

import json
import re
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from digest.ingest import pipeline as ingest
from digest.ingest.passes import ingest_all
from digest.ingest.pipeline import ingest_source, ingest_url, upsert
from digest.models import FetchRun, Paper, PaperSighting, Source, UpvoteSnapshot
from digest.sources.base import IngestError, PaperRecord
from tests.helpers.feeds import (
    API_PAGE,
    ATOM_FEED,
    EMPTY_FEED,
    HF_JSON,
    JSON_TYPE,
    RSS_FEED,
    RSS_TYPE,
    Reply,
    feed_bytes,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_http", "no_default_sources")]


def serve_hf(server, *, upvotes=None, first_id=None):
    items = json.loads(feed_bytes(HF_JSON))
    if upvotes is not None:
        items[0]["paper"]["upvotes"] = upvotes
    if first_id:
        items[0]["paper"]["id"] = first_id
    return server.serve(
        "/api/daily_papers", Reply(body=json.dumps(items).encode(), content_type=JSON_TYPE)
    )


def test_a_pull_creates_one_paper_per_entry_and_records_the_run(feed_server):
    run = ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    assert run.status == FetchRun.Status.OK
    assert (run.new_count, run.updated_count, run.skipped_count) == (87, 0, 0)
    assert run.http_status == 200
    assert run.source is None
    assert run.finished_at >= run.started_at
    assert Paper.objects.count() == 87
    paper = Paper.objects.get(arxiv_id="2508.13167")
    assert paper.announced_on == date(2025, 8, 20)
    assert paper.primary_category == "cs.AI"
    assert paper.title_text == paper.title
    assert PaperSighting.objects.filter(kind="arxiv-rss").count() == 87


def test_running_the_same_pull_twice_changes_nothing_the_second_time(feed_server):
    url = feed_server.serve_file("/atom/cs.AI", ATOM_FEED)
    ingest_url(url, "arxiv-rss")
    before = list(Paper.objects.order_by("pk").values())
    again = ingest_url(url, "arxiv-rss")
    assert (again.new_count, again.updated_count, again.skipped_count) == (0, 0, 0)
    assert list(Paper.objects.order_by("pk").values()) == before
    assert PaperSighting.objects.count() == 87


def test_it_cleans_latex_into_the_display_text(feed_server):
    ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    paper = Paper.objects.filter(abstract__contains="$").first()
    assert paper is not None
    assert "$" not in paper.abstract_text
    assert "\n" not in paper.abstract_text


PRIVATE_USE = re.compile("[\ue000-\uf8ff\U000f0000-\U0010ffff]")


def test_private_use_characters_never_reach_a_stored_paper(feed_server):
    # U+E000 and U+E001 mark the card templates' slots; a listing may carry any of them.
    feed = feed_bytes(ATOM_FEED).decode()
    for published, odd in [
        ("Chain-of-Agents: End", "Chain-of-Agents\ue000fewer_url\ue001: End"),
        ("Abstract: Recent advances", "Abstract: Recent \uf8ffadvances\U000f0001"),
        ("Weizhen Li,", "Weizhen \ue001Li\U0010fffd,"),
    ]:
        assert published in feed
        feed = feed.replace(published, odd, 1)
    url = feed_server.serve("/atom/cs.AI", Reply(body=feed.encode()))

    ingest_url(url, "arxiv-rss")

    paper = Paper.objects.get(arxiv_id="2508.13167")
    stored = [paper.title, paper.title_text, paper.abstract, paper.abstract_text, *paper.authors]
    assert not [text for text in stored if PRIVATE_USE.search(text)]
    assert paper.title_text.startswith("Chain-of-Agentsfewer_url: End-to-End")
    assert paper.abstract_text.startswith("Recent advances in large language models")
    assert paper.authors[0] == "Weizhen Li"


def test_new_and_cross_enter_the_pool_and_a_replace_of_an_unknown_paper_is_skipped(feed_server):
    run = ingest_url(feed_server.serve_file("/rss/cs.AI", RSS_FEED, RSS_TYPE), "arxiv-rss")
    assert (run.new_count, run.updated_count, run.skipped_count) == (3, 0, 1)
    assert run.error == (
        "skipped 1 revision(s) (replace, replace-cross) of papers not held: a revision is not new"
    )
    assert not Paper.objects.filter(arxiv_id="2203.01250").exists()
    # The replace of 2508.13167 in the same feed merged into its new entry.
    paper = Paper.objects.get(arxiv_id="2508.13167")
    assert (paper.version, paper.announce_type, paper.doi) == (2, "new", "10.5555/paperboy-fixture")


def test_a_replace_updates_a_stored_paper_without_making_it_new_again(feed_server):
    ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    Paper.objects.filter(arxiv_id="2508.13167").update(announced_on=date(2025, 8, 1))
    run = ingest_url(feed_server.serve_file("/rss/cs.AI", RSS_FEED, RSS_TYPE), "arxiv-rss")
    assert (run.new_count, run.updated_count, run.skipped_count) == (0, 1, 1)
    paper = Paper.objects.get(arxiv_id="2508.13167")
    assert paper.version == 2
    assert paper.announced_on == date(2025, 8, 1)
    assert paper.announce_type == "new"


def test_an_empty_feed_is_an_ok_run_with_nothing_in_it(feed_server):
    run = ingest_url(feed_server.serve_file("/rss/cs.LG", EMPTY_FEED, RSS_TYPE), "arxiv-rss")
    assert run.status == FetchRun.Status.OK
    assert (run.new_count, run.updated_count, run.skipped_count) == (0, 0, 0)


def test_sources_merge_into_one_paper_per_arxiv_id(feed_server):
    ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    run = ingest_url(serve_hf(feed_server, first_id="2508.13167"), "hf-daily")
    assert (run.new_count, run.updated_count) == (1, 1)
    paper = Paper.objects.get(arxiv_id="2508.13167")
    assert paper.announced_on == date(2025, 8, 20)  # whichever source saw it first
    assert paper.hf_url == "https://huggingface.co/papers/2508.13167"
    assert paper.upvotes == 64
    assert paper.abs_url == "https://arxiv.org/abs/2508.13167"
    assert set(paper.sightings.values_list("kind", flat=True)) == {"arxiv-rss", "hf-daily"}
    assert Paper.objects.filter(arxiv_id__startswith="2508.13167").count() == 1


def test_a_versioned_id_merges_into_the_bare_id_and_keeps_the_highest_version():
    today = timezone.localdate()
    upsert([PaperRecord(arxiv_id="2508.13167v1", title="A", announced_on=today)], kind="arxiv-api")
    upsert(
        [PaperRecord(arxiv_id="2508.13167v3", title="A v3", announced_on=today)], kind="arxiv-api"
    )
    upsert(
        [PaperRecord(arxiv_id="2508.13167v2", title="A v2", announced_on=today)], kind="arxiv-api"
    )
    paper = Paper.objects.get()
    assert (paper.arxiv_id, paper.version, paper.title) == ("2508.13167", 3, "A v3")


def test_each_field_keeps_the_best_value_any_source_gave():
    day = date(2025, 8, 20)
    first = PaperRecord(arxiv_id="physics/0507092", title="T", abstract="short", announced_on=day)
    second = PaperRecord(
        arxiv_id="physics/0507092v1",
        title="Other title",
        abstract="a much longer abstract",
        announced_on=day + timedelta(days=3),
        code_url="https://github.com/example/code",
        upvotes=5,
    )
    upsert([first], kind="arxiv-rss")
    upsert([second], kind="hf-daily")
    upsert([first], kind="arxiv-rss")
    paper = Paper.objects.get()
    assert paper.title == "T"
    assert paper.abstract == "a much longer abstract"
    assert paper.announced_on == day
    assert (paper.code_url, paper.upvotes) == ("https://github.com/example/code", 5)


def test_hf_upvotes_refresh_on_every_pull_with_a_history_row_each(feed_server):
    ingest_url(serve_hf(feed_server, upvotes=64), "hf-daily")
    run = ingest_url(serve_hf(feed_server, upvotes=70), "hf-daily")
    assert (run.new_count, run.updated_count) == (0, 1)
    paper = Paper.objects.get(arxiv_id="2410.17243")
    assert paper.upvotes == 70
    assert list(paper.upvote_history.order_by("pk").values_list("upvotes", flat=True)) == [64, 70]
    # The other paper's count did not move in between: no second row for it.
    assert UpvoteSnapshot.objects.count() == 3


def test_a_daily_papers_thumbnail_is_stored_and_an_arxiv_listing_leaves_it_alone(feed_server):
    ingest_url(serve_hf(feed_server), "hf-daily")

    paper = Paper.objects.get(arxiv_id="2410.17243")

    assert paper.thumbnail_url == (
        "https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/2410.17243.png"
    )
    ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    assert (
        not Paper.objects.exclude(arxiv_id__in=["2410.17243", "2410.16251"])
        .exclude(thumbnail_url="")
        .exists()
    )


def test_running_the_same_daily_papers_pull_twice_changes_nothing_the_second_time(feed_server):
    url = serve_hf(feed_server)
    ingest_url(url, "hf-daily")
    before = list(Paper.objects.order_by("pk").values())
    history = list(UpvoteSnapshot.objects.order_by("pk").values())
    again = ingest_url(url, "hf-daily")
    assert (again.new_count, again.updated_count, again.skipped_count) == (0, 0, 0)
    assert list(Paper.objects.order_by("pk").values()) == before
    assert list(UpvoteSnapshot.objects.order_by("pk").values()) == history


def test_an_unchanged_upvote_count_is_sampled_again_by_the_next_hourly_pull(feed_server):
    url = serve_hf(feed_server)
    ingest_url(url, "hf-daily")
    # Hourly, less the scheduler's 5 minutes of slack (digest.models.SCHEDULE_SLACK).
    UpvoteSnapshot.objects.update(taken_at=timezone.now() - timedelta(minutes=55))
    ingest_url(url, "hf-daily")
    assert UpvoteSnapshot.objects.count() == 4  # Each paper sampled twice, for growth.


def test_a_bad_record_is_skipped_and_noted_and_the_rest_written():
    today = timezone.localdate()
    outcome = upsert(
        [
            PaperRecord(arxiv_id="2410.17243", title="Good", announced_on=today),
            PaperRecord(arxiv_id="not-an-id", title="No id"),
            PaperRecord(arxiv_id="2410.16251", title="   "),
        ],
        kind="hf-daily",
    )
    assert (outcome.new, outcome.skipped) == (1, 2)
    assert any("not-an-id" in problem for problem in outcome.problems)
    assert any("empty title" in problem for problem in outcome.problems)
    assert list(Paper.objects.values_list("arxiv_id", flat=True)) == ["2410.17243"]


def test_a_run_that_skips_records_says_why_in_its_error(feed_server):
    items = json.loads(feed_bytes(HF_JSON))
    items[1]["paper"]["id"] = "no id here"
    url = feed_server.serve(
        "/api/daily_papers", Reply(body=json.dumps(items).encode(), content_type=JSON_TYPE)
    )
    run = ingest_url(url, "hf-daily")
    assert (run.status, run.new_count, run.skipped_count) == ("ok", 1, 1)
    assert "no id here" in run.error


def test_a_write_failure_leaves_no_half_written_pull(feed_server, monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("disk full")

    # The papers are written by then; the sightings, last, fail.
    monkeypatch.setattr(ingest, "record_sightings", fail)
    run = ingest_url(feed_server.serve_file("/atom/cs.AI", ATOM_FEED), "arxiv-rss")
    assert run.status == FetchRun.Status.FAILED
    assert "disk full" in run.error
    assert Paper.objects.count() == 0


def test_one_failing_source_never_stops_the_others(feed_server):
    Source.objects.create(
        name="broken", kind="arxiv-rss", url=feed_server.serve("/down", Reply(status=503))
    )
    Source.objects.create(
        name="garbage",
        kind="arxiv-rss",
        url=feed_server.serve("/junk", Reply(body=b"\x00junk", content_type=RSS_TYPE)),
    )
    Source.objects.create(
        name="good", kind="arxiv-rss", url=feed_server.serve_file("/atom/cs.AI", ATOM_FEED)
    )
    Source.objects.create(name="off", kind="arxiv-rss", url="http://127.0.0.1:9/", enabled=False)
    runs = {run.source.name: run for run in ingest_all()}
    assert set(runs) == {"broken", "garbage", "good"}
    assert runs["broken"].status == "failed"
    assert runs["broken"].error.startswith("temporary:")
    assert runs["broken"].http_status == 503
    assert runs["garbage"].status == "failed"
    assert runs["garbage"].error.startswith("permanent:")
    assert (runs["good"].status, runs["good"].new_count) == ("ok", 87)


def test_an_unexpected_parser_crash_fails_only_that_run(feed_server, monkeypatch):
    from digest.sources.hf_daily import HfDailyAdapter

    def crash(self, raw):
        raise ValueError("surprise")

    monkeypatch.setattr(HfDailyAdapter, "parse", crash)
    source = Source.objects.create(name="hf", kind="hf-daily", url=serve_hf(feed_server))
    run = ingest_source(source)
    assert run.status == "failed"
    assert run.error == "unexpected: ValueError: surprise"


def test_an_unchanged_feed_costs_a_304_and_is_not_modified(feed_server):
    # A whole feed: the Atom capture is cut off, so its ETag would not be kept.
    url = feed_server.serve_file("/atom/cs.AI", RSS_FEED, RSS_TYPE, etag='"v1"')
    source = Source.objects.create(name="cs.AI", kind="arxiv-rss", url=url)
    first = ingest_source(source)
    source.refresh_from_db()
    assert (first.status, source.etag) == ("ok", '"v1"')
    second = ingest_source(source)
    assert (second.status, second.http_status) == ("not_modified", 304)
    assert feed_server.hits("/atom/cs.AI")[-1][1]["if-none-match"] == '"v1"'


def test_a_failed_pull_does_not_store_the_etag(feed_server):
    url = feed_server.serve(
        "/junk", Reply(body=b"<html>no</html>", content_type=RSS_TYPE, etag='"bad"')
    )
    source = Source.objects.create(name="junk", kind="arxiv-rss", url=url)
    assert ingest_source(source).status == "failed"
    source.refresh_from_db()
    assert source.etag == ""


def test_a_source_of_an_unknown_kind_fails_with_a_clear_error():
    source = Source.objects.create(name="odd", kind="rss", url="http://127.0.0.1:9/")
    run = ingest_source(source)
    assert run.status == "failed"
    assert "unknown source kind 'rss'" in run.error


@pytest.mark.parametrize(
    ("url", "kind", "message"),
    [
        ("http://127.0.0.1:9/", "rss", "unknown kind"),
        ("ftp://example.org/feed", "arxiv-rss", "not an http"),
        ("not a url", "hf-daily", "not an http"),
    ],
)
def test_ingest_url_refuses_bad_input_before_pulling(url, kind, message):
    with pytest.raises(IngestError, match=message):
        ingest_url(url, kind)
    assert not FetchRun.objects.exists()


def test_the_api_backfill_stores_submission_times_and_listing_days(feed_server):
    run = ingest_url(feed_server.serve_file("/api/query", API_PAGE), "arxiv-api")
    assert (run.status, run.new_count) == ("ok", 3)
    paper = Paper.objects.get(arxiv_id="physics/0507092")
    # Submitted Tuesday 12:41 in New York, before the 14:00 deadline: Wednesday's listing.
    assert paper.published_at.date() == date(2005, 7, 12)
    assert paper.announced_on == date(2005, 7, 13)


def _records(count: int, first: int = 10000) -> list[PaperRecord]:
    day = timezone.localdate()
    return [
        PaperRecord(
            arxiv_id=f"2508.{first + i}",
            title=f"Paper $x^{i}$",
            abstract="An abstract.",
            authors=["A. One", "B. Two"],
            categories=["cs.LG"],
            announced_on=day,
            upvotes=i,
        )
        for i in range(count)
    ]


def _queries(records: list[PaperRecord]) -> int:
    with CaptureQueriesContext(connection) as captured:
        upsert(records, kind="hf-daily")
    return len(captured)


def test_queries_do_not_grow_with_the_number_of_papers():
    few, many = _records(10), _records(300, first=20000)
    assert _queries(few) == _queries(many)  # both create every paper
    for record in few + many:
        record.upvotes += 1
    assert _queries(few) == _queries(many)  # both update every paper


@pytest.mark.parametrize("count", [20, 400])
def test_the_query_count_of_a_pull_is_pinned(count, django_assert_max_num_queries):
    records = _records(count)
    with django_assert_max_num_queries(8):
        upsert(records, kind="hf-daily")
    for record in records:
        record.upvotes += 1
    with django_assert_max_num_queries(7):
        upsert(records, kind="hf-daily")
    with django_assert_max_num_queries(5):
        upsert(records, kind="hf-daily")  # unchanged: reads, sightings, recent upvote history


def test_load_snapshot_replays_the_bundled_files_as_today(monkeypatch):
    totals = ingest.load_snapshot()
    assert totals["new"] == 92
    assert totals["papers"] == 92
    assert Paper.objects.filter(announced_on=timezone.localdate()).count() == 92
    assert Paper.objects.get(arxiv_id="2410.17243").upvotes == 64
    assert UpvoteSnapshot.objects.count() == 2


def test_load_snapshot_twice_changes_nothing():
    ingest.load_snapshot()
    before = list(Paper.objects.order_by("pk").values())
    totals = ingest.load_snapshot()
    assert (totals["new"], totals["updated"], totals["skipped"]) == (0, 0, 0)
    assert list(Paper.objects.order_by("pk").values()) == before
    assert UpvoteSnapshot.objects.count() == 2
