"""Listings as an operator meets them over months: damaged, racing, withdrawn. What was
read is kept, and staff are told what was not."""

import json
from datetime import date

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from digest.ingest import pipeline
from digest.ingest.passes import ingest_all
from digest.ingest.pipeline import ingest_source, ingest_url, upsert
from digest.lib.bulk import insert_many
from digest.models import FetchRun, Paper, PaperSighting, Source
from digest.sources.arxiv_rss import ArxivRssAdapter
from digest.sources.base import PaperRecord
from digest.sources.hf_daily import HfDailyAdapter
from tests.helpers.feeds import API_PAGE, HF_JSON, JSON_TYPE, RSS_FEED, RSS_TYPE, Reply, feed_bytes

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fast_http", "no_default_sources")]


def cut_mid_entry(body: bytes) -> bytes:
    """The body cut inside its third item's description, as a dropped proxy leaves it."""
    third = body.index(b"<item>", body.index(b"<item>", body.index(b"<item>") + 1) + 1)
    return body[: body.index(b"<description>", third) + 40]


def test_a_feed_cut_mid_entry_keeps_what_it_read_says_so_and_is_read_again(feed_server):
    whole = feed_bytes(RSS_FEED)
    url = feed_server.serve(
        "/rss/cs.AI",
        Reply(body=cut_mid_entry(whole), content_type=RSS_TYPE, etag='"today"'),
        Reply(body=whole, content_type=RSS_TYPE, etag='"today"'),
    )
    source = Source.objects.create(name="cs.AI", kind="arxiv-rss", url=url)

    first = ingest_source(source)

    assert first.status == FetchRun.Status.OK
    assert first.new_count == 3
    assert first.error.splitlines() == [
        "the feed is cut off or malformed (line 46, column 46: no element found): "
        "kept the 3 entries read; it is read again in full at the next pull"
    ]
    source.refresh_from_db()
    assert source.etag == ""

    second = ingest_source(source)

    assert second.status == FetchRun.Status.OK
    assert "if-none-match" not in feed_server.hits("/rss/cs.AI")[1][1]
    assert second.error == "" or "cut off" not in second.error
    assert Paper.objects.exclude(abstract="").count() == Paper.objects.count()
    source.refresh_from_db()
    assert source.etag == '"today"'


def test_a_paper_another_pull_inserts_meanwhile_is_merged_not_dropped(monkeypatch):
    # Two workers pull at once (PostgreSQL lets both read "not held"): Daily Papers
    # inserts the paper between this arXiv pull's read and its insert.
    def insert_after_the_other_worker(model, names, rows, **kwargs):
        if model is Paper:
            monkeypatch.setattr(pipeline, "insert_many", insert_many)
            upsert([daily_papers_view()], kind="hf-daily")
        insert_many(model, names, rows, **kwargs)

    monkeypatch.setattr(pipeline, "insert_many", insert_after_the_other_worker)

    outcome = upsert([arxiv_view()], kind="arxiv-rss")

    paper = Paper.objects.get()
    assert paper.categories == ["cs.CV", "cs.AI"]
    assert paper.announce_type == "new"
    assert (paper.upvotes, paper.hf_url) == (64, "https://huggingface.co/papers/2410.17243")
    assert (outcome.new, outcome.updated) == (0, 1)
    assert set(PaperSighting.objects.values_list("kind", flat=True)) == {"hf-daily", "arxiv-rss"}


def daily_papers_view() -> PaperRecord:
    return PaperRecord(
        arxiv_id="2410.17243",
        title="Breaking the Memory Barrier",
        abstract="Contrastive loss scales with batch size.",
        upvotes=64,
        hf_url="https://huggingface.co/papers/2410.17243",
        announced_on=date(2024, 10, 25),
    )


def arxiv_view() -> PaperRecord:
    return PaperRecord(
        arxiv_id="2410.17243v1",
        title="Breaking the Memory Barrier",
        abstract="Contrastive loss scales with batch size.",
        categories=["cs.CV", "cs.AI"],
        announce_type="new",
        announced_on=date(2024, 10, 24),
    )


def withdrawn_on_daily_papers(arxiv_id: str) -> dict:
    return {
        "paper": {
            "id": arxiv_id,
            "title": "A result that did not hold",
            "summary": "We prove P = NP.",
            "upvotes": 3,
            "withdrawnAt": "2024-10-26T08:00:00.000Z",
        },
        "publishedAt": "2024-10-25T13:00:00.000Z",
    }


def test_a_paper_withdrawn_before_we_held_it_is_not_added(feed_server):
    items = [*json.loads(feed_bytes(HF_JSON)), withdrawn_on_daily_papers("2410.19999")]
    url = feed_server.serve(
        "/api/daily_papers", Reply(body=json.dumps(items).encode(), content_type=JSON_TYPE)
    )

    run = ingest_url(url, "hf-daily")

    assert (run.new_count, run.skipped_count) == (2, 1)
    assert not Paper.objects.filter(arxiv_id="2410.19999").exists()
    assert "skipped 1 withdrawn paper(s) not held: 2410.19999" in run.error.splitlines()


def test_a_held_paper_withdrawn_later_leaves_future_digests(feed_server):
    upsert([arxiv_view()], kind="arxiv-rss")
    items = [withdrawn_on_daily_papers("2410.17243")]
    url = feed_server.serve(
        "/api/daily_papers", Reply(body=json.dumps(items).encode(), content_type=JSON_TYPE)
    )

    run = ingest_url(url, "hf-daily")
    again = ingest_url(url, "hf-daily")

    paper = Paper.objects.get()
    assert paper.retracted_at is not None
    assert run.error.splitlines() == [
        "retracted 1 withdrawn paper(s) from future digests: 2410.17243"
    ]
    assert again.error == ""


def test_an_arxiv_listing_that_announces_a_withdrawal_retracts_the_paper():
    upsert(ArxivRssAdapter().parse(feed_bytes(RSS_FEED)), kind="arxiv-rss")
    notice = "This paper has been withdrawn by the authors due to an error in Lemma 2."
    withdrawal = feed_bytes(RSS_FEED).replace(
        b"arXiv:2508.13167v1 Announce Type: new \nAbstract: Recent advances",
        f"arXiv:2508.13167v2 Announce Type: replace \nAbstract: {notice} Recent".encode(),
    )

    outcome = upsert(ArxivRssAdapter().parse(withdrawal), kind="arxiv-rss")

    assert Paper.objects.get(arxiv_id="2508.13167").retracted_at is not None
    assert Paper.objects.filter(retracted_at__isnull=False).count() == 1
    assert "retracted 1 withdrawn paper(s) from future digests: 2508.13167" in outcome.problems


def test_a_backfill_cut_short_by_empty_pages_keeps_its_papers_and_says_so(feed_server, settings):
    settings.ARXIV_API_PAGE_SIZE = 2
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0
    first_two = feed_bytes(API_PAGE).replace(b">120839<", b">3<")
    first_two = first_two[: first_two.rindex(b"<entry>")] + b"</feed>"
    empty = first_two[: first_two.index(b"<entry>")] + b"</feed>"
    url = feed_server.serve("/api/query", Reply(body=first_two), Reply(body=empty))

    run = ingest_url(url + "?search_query=all:science", "arxiv-api")

    assert (run.status, run.new_count) == (FetchRun.Status.OK, 2)
    assert run.error.startswith("the arXiv API answered no entries from result 2 on, of the 3")


def test_the_tasks_time_limit_ends_the_pass_and_says_so_on_the_run(feed_server, monkeypatch):
    # A server that drips its feed keeps the pass past the task's soft limit; the pass
    # must stop there, not start the next source seconds before the hard kill.
    slow = Source.objects.create(name="a slow", kind="arxiv-rss", url=feed_server.url("/slow"))
    Source.objects.create(name="b next", kind="arxiv-rss", url=feed_server.url("/next"))

    def time_is_up(self, url, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(ArxivRssAdapter, "fetch", time_is_up)

    with pytest.raises(SoftTimeLimitExceeded):
        ingest_all()

    run = FetchRun.objects.get()
    assert (run.source, run.status) == (slow, FetchRun.Status.FAILED)
    assert run.error == (
        "temporary: stopped at its task's time limit; the next pass pulls it and the "
        "sources after it"
    )
    assert run.finished_at is not None


@pytest.mark.parametrize("stamp", ["9999-12-31T00:00:00.000Z", "0001-01-01T00:00:00Z"])
def test_a_listing_day_out_of_this_world_is_taken_as_today(stamp):
    # A future day would keep the paper in every digest's pool (and alone on the sign-up
    # page's sample) for ever; a day before arXiv existed would never offer it.
    item = {"paper": {"id": "2410.17243", "title": "Breaking the Memory Barrier"}}
    records = HfDailyAdapter().parse(json.dumps([{**item, "publishedAt": stamp}]).encode())

    upsert(records, kind="hf-daily")

    assert Paper.objects.get().announced_on == timezone.localdate()
