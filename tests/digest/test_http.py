"""The ingestion HTTP client, against a real server on loopback."""

import email.utils
import gzip
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from digest import http
from digest.http import fetch, wait_for_slot
from digest.sources.base import IngestError
from tests.digest.conftest import ATOM_TYPE, HTML_TYPE, Reply

pytestmark = pytest.mark.usefixtures("fast_http")

FEED = ("application/atom+xml",)


def test_it_identifies_itself_and_says_what_it_accepts(feed_server, settings):
    url = feed_server.serve("/f", Reply(body=b"<feed/>"))
    response = fetch(url, accept="application/atom+xml", content_types=FEED)
    assert (response.status, response.content) == (200, b"<feed/>")
    headers = feed_server.hits("/f")[0][1]
    assert headers["user-agent"] == settings.PAPERBOY_USER_AGENT
    assert headers["accept"] == "application/atom+xml"


def test_an_unchanged_listing_answers_304_with_no_body(feed_server):
    url = feed_server.serve(
        "/f",
        Reply(
            body=b"<feed/>",
            etag='"abc"',
            headers={"Last-Modified": "Wed, 20 Aug 2025 04:00:19 GMT"},
        ),
    )
    first = fetch(url)
    assert (first.etag, first.last_modified) == ('"abc"', "Wed, 20 Aug 2025 04:00:19 GMT")
    second = fetch(url, etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified
    assert second.content == b""
    sent = feed_server.hits("/f")[1][1]
    assert sent["if-none-match"] == '"abc"'
    assert sent["if-modified-since"] == "Wed, 20 Aug 2025 04:00:19 GMT"


def test_it_retries_a_429_after_the_time_the_server_asked_for(feed_server):
    url = feed_server.serve(
        "/f", Reply(status=429, headers={"Retry-After": "1"}), Reply(body=b"<feed/>")
    )
    started = time.monotonic()
    assert fetch(url).content == b"<feed/>"
    hits = feed_server.hits("/f")
    assert len(hits) == 2
    assert hits[1][2] - hits[0][2] >= 0.95
    assert time.monotonic() - started < 5


def test_a_retry_after_beyond_the_cap_fails_at_once_as_temporary(feed_server):
    url = feed_server.serve("/f", Reply(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(IngestError, match="retry after 3600") as caught:
        fetch(url)
    assert not caught.value.permanent
    assert len(feed_server.hits("/f")) == 1


def test_it_retries_a_5xx_with_backoff_then_succeeds(feed_server):
    url = feed_server.serve("/f", Reply(status=502), Reply(status=503), Reply(body=b"ok"))
    assert fetch(url).content == b"ok"
    assert len(feed_server.hits("/f")) == 3


def test_a_persistent_5xx_gives_up_as_temporary_with_the_status(feed_server):
    url = feed_server.serve("/f", Reply(status=503))
    with pytest.raises(IngestError, match="gave up after 3 attempts") as caught:
        fetch(url)
    assert not caught.value.permanent
    assert caught.value.http_status == 503
    assert len(feed_server.hits("/f")) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 410])
def test_a_4xx_is_permanent_and_not_retried(feed_server, status):
    url = feed_server.serve("/f", Reply(status=status))
    with pytest.raises(IngestError) as caught:
        fetch(url)
    assert caught.value.permanent
    assert caught.value.http_status == status
    assert len(feed_server.hits("/f")) == 1


def test_a_slow_server_times_out_and_is_retried(feed_server, settings):
    settings.INGEST_READ_TIMEOUT = 0.2
    url = feed_server.serve("/f", Reply(body=b"late", delay=0.6), Reply(body=b"ok"))
    assert fetch(url).content == b"ok"
    assert len(feed_server.hits("/f")) == 2


def test_a_server_that_never_answers_in_time_is_a_temporary_failure(feed_server, settings):
    settings.INGEST_READ_TIMEOUT = 0.1
    settings.INGEST_MAX_ATTEMPTS = 2
    url = feed_server.serve("/f", Reply(body=b"late", delay=0.4))
    with pytest.raises(IngestError, match="timed out") as caught:
        fetch(url)
    assert not caught.value.permanent


def test_a_refused_connection_is_a_temporary_failure():
    with pytest.raises(IngestError, match="could not fetch") as caught:
        fetch("http://127.0.0.1:9/feed")
    assert not caught.value.permanent


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "http://", "not a url"])
def test_a_bad_url_is_permanent(url):
    with pytest.raises(IngestError) as caught:
        fetch(url)
    assert caught.value.permanent


def test_a_declared_oversize_response_is_refused_unread(feed_server, settings):
    settings.INGEST_MAX_BYTES = 1000
    url = feed_server.serve("/f", Reply(body=b"x" * 5000))
    with pytest.raises(IngestError, match="over the 1000-byte limit") as caught:
        fetch(url)
    assert caught.value.permanent


def test_an_undeclared_oversize_response_is_cut_off_while_streaming(feed_server, settings):
    settings.INGEST_MAX_BYTES = 100_000
    url = feed_server.serve("/f", Reply(body=b"x" * 1_000_000, declare_length=False))
    with pytest.raises(IngestError, match="over the 100000-byte limit"):
        fetch(url)


def test_a_response_at_the_cap_is_accepted(feed_server, settings):
    settings.INGEST_MAX_BYTES = 1000
    url = feed_server.serve("/f", Reply(body=b"x" * 1000, declare_length=False))
    assert len(fetch(url).content) == 1000


def test_the_wrong_content_type_is_refused(feed_server):
    url = feed_server.serve("/f", Reply(body=b"<html></html>", content_type=HTML_TYPE))
    with pytest.raises(IngestError, match="unexpected content type 'text/html") as caught:
        fetch(url, content_types=FEED)
    assert caught.value.permanent


def test_parameters_on_the_content_type_do_not_matter(feed_server):
    url = feed_server.serve("/f", Reply(body=b"<feed/>", content_type=ATOM_TYPE))
    assert fetch(url, content_types=FEED).content == b"<feed/>"


def test_it_follows_redirects(feed_server):
    feed_server.serve("/old", Reply(status=301, headers={"Location": "/new"}))
    feed_server.serve("/new", Reply(body=b"<feed/>"))
    response = fetch(feed_server.url("/old"))
    assert response.url.endswith("/new")


def test_arxiv_slots_keep_requests_apart_across_threads(db):
    times: list[float] = []

    def take() -> None:
        wait_for_slot("test-arxiv", 0.15)
        times.append(time.monotonic())

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    times.sort()
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 0.13


def test_throttled_fetches_are_an_interval_apart(feed_server):
    url = feed_server.serve("/f", Reply(body=b"<feed/>"))
    fetch(url, throttle="test-fetch", interval=0.2)
    fetch(url, throttle="test-fetch", interval=0.2)
    hits = feed_server.hits("/f")
    assert hits[1][2] - hits[0][2] >= 0.18


def test_retry_after_may_be_an_http_date(feed_server):
    when = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=2), usegmt=True)
    url = feed_server.serve(
        "/f", Reply(status=503, headers={"Retry-After": when}), Reply(body=b"ok")
    )
    assert fetch(url).content == b"ok"
    hits = feed_server.hits("/f")
    assert hits[1][2] - hits[0][2] >= 0.9  # HTTP dates have whole seconds


def test_a_compressed_response_is_capped_on_its_decoded_size(feed_server, settings):
    settings.INGEST_MAX_BYTES = 100_000
    bomb = gzip.compress(b"<" * 5_000_000)
    url = feed_server.serve("/f", Reply(body=bomb, headers={"Content-Encoding": "gzip"}))
    with pytest.raises(IngestError, match="over the 100000-byte limit"):
        fetch(url)


def test_it_gives_up_when_every_slot_ahead_is_taken(db, monkeypatch):
    monkeypatch.setattr(http, "MAX_SLOT_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(http.cache, "add", lambda *args, **kwargs: False)
    with pytest.raises(IngestError, match="no free busy request slot") as caught:
        wait_for_slot("busy", 0.25)
    assert not caught.value.permanent
