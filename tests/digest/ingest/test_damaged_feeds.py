"""Listings that arrive damaged: what was read is kept, and staff are told what was not."""

import pytest

from digest.ingest.pipeline import ingest_source
from digest.models import FetchRun, Paper, Source
from tests.helpers.feeds import RSS_FEED, RSS_TYPE, Reply, feed_bytes

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
