"""The ingestion HTTP client, against a real server on loopback."""

import email.utils
import gzip
import itertools
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from digest.sources import http
from digest.sources.base import IngestError
from digest.sources.http import fetch, wait_for_slot
from tests.helpers.feeds import ATOM_TYPE, HTML_TYPE, Reply

pytestmark = pytest.mark.usefixtures("fast_http")

FEED = ("application/atom+xml",)
ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def _own_slot_folder(settings, tmp_path):
    """Request slots kept in files go to this test's folder, not the checkout's var/."""
    settings.VAR_DIR = tmp_path / "var"


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


def test_a_maintenance_503_beyond_the_cap_says_503_not_429(feed_server):
    url = feed_server.serve("/f", Reply(status=503, headers={"Retry-After": "7200"}))
    with pytest.raises(IngestError) as caught:
        fetch(url)
    assert caught.value.http_status == 503
    assert str(caught.value) == (
        f"HTTP 503 from {url}; the server asked to retry after 7200 s (over the 2 s cap)"
    )


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


def test_the_total_timeout_bounds_every_attempt_together(feed_server, settings):
    # A server that always stalls must not hold a pass for attempts x the total timeout.
    settings.INGEST_READ_TIMEOUT = 0.2
    settings.INGEST_TOTAL_TIMEOUT = 0.5
    settings.INGEST_MAX_ATTEMPTS = 10
    url = feed_server.serve("/f", Reply(body=b"late", delay=0.4))
    with pytest.raises(IngestError, match="INGEST_TOTAL_TIMEOUT of 0.5 s used up") as caught:
        fetch(url)
    assert not caught.value.permanent
    assert len(feed_server.hits("/f")) < 4


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


def reserved_slots(monkeypatch) -> list[float]:
    """The slot start times the lock hands out, in the order it hands them out: what it
    guarantees (arrival times also depend on how busy the machine is)."""
    slots: list[float] = []
    reserve = http._reserve_in_file

    def recording(*args):
        start = reserve(*args)
        slots.append(start)
        return start

    monkeypatch.setattr(http, "_reserve_in_file", recording)
    return slots


def test_arxiv_slots_keep_requests_apart_across_threads(db, monkeypatch):
    slots = reserved_slots(monkeypatch)
    threads = [threading.Thread(target=wait_for_slot, args=("test-arxiv", 0.15)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    starts = sorted(slots)
    assert len(starts) == 4
    assert min(b - a for a, b in zip(starts, starts[1:], strict=False)) >= 0.15 - 1e-6


def test_throttled_fetches_are_an_interval_apart(feed_server, monkeypatch):
    slots = reserved_slots(monkeypatch)
    url = feed_server.serve("/f", Reply(body=b"<feed/>"))
    fetch(url, throttle="test-fetch", interval=0.2)
    fetch(url, throttle="test-fetch", interval=0.2)
    assert len(feed_server.hits("/f")) == 2
    assert len(slots) == 2 and slots[1] - slots[0] >= 0.2 - 1e-6


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


def test_a_doubly_compressed_bomb_is_cut_off_without_being_inflated(feed_server, settings):
    # 90 MB of zeros gzipped twice is a body of a few hundred bytes, inflated by one read.
    settings.INGEST_MAX_BYTES = 100_000
    bomb = gzip.compress(gzip.compress(bytes(90_000_000), 9), 9)
    url = feed_server.serve("/f", Reply(body=bomb, headers={"Content-Encoding": "gzip, gzip"}))
    tracemalloc.start()
    try:
        with pytest.raises(IngestError, match="over the 100000-byte limit"):
            fetch(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def test_a_deflate_body_is_read_with_or_without_its_zlib_header(feed_server):
    body = b"<feed>" + b"x" * 1000 + b"</feed>"
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    headerless = raw.compress(body) + raw.flush()
    url = feed_server.serve("/raw", Reply(body=headerless, headers={"Content-Encoding": "deflate"}))
    wrapped = feed_server.serve(
        "/zlib", Reply(body=zlib.compress(body), headers={"Content-Encoding": "deflate"})
    )
    assert fetch(url).content == body
    assert fetch(wrapped).content == body


def test_a_corrupt_compressed_body_is_a_clear_permanent_error(feed_server):
    url = feed_server.serve(
        "/f", Reply(body=b"\x1f\x8b not gzip", headers={"Content-Encoding": "gzip"})
    )
    with pytest.raises(IngestError, match="undecodable compressed body") as caught:
        fetch(url)
    assert (caught.value.permanent, caught.value.http_status) == (True, 200)


def test_an_encoding_we_did_not_ask_for_is_refused(feed_server):
    url = feed_server.serve("/f", Reply(body=b"\x00\x01", headers={"Content-Encoding": "br"}))
    with pytest.raises(IngestError, match="unsupported content encoding 'br'"):
        fetch(url)
    assert feed_server.hits("/f")[0][1]["accept-encoding"] == "gzip, deflate"


@pytest.mark.parametrize("shared", [True, False], ids=["shared-cache", "slot-file"])
def test_it_gives_up_when_every_slot_ahead_is_taken(db, monkeypatch, settings, shared):
    monkeypatch.setattr(http, "MAX_SLOT_WAIT_SECONDS", 1.0)
    monkeypatch.setattr(http, "_cache_is_shared", lambda: shared)
    monkeypatch.setattr(http.cache, "add", lambda *args, **kwargs: False)
    slots = settings.VAR_DIR / "slots"
    slots.mkdir(parents=True)
    (slots / "busy.slot").write_text(repr(time.time() + 1.0))  # Booked up to the horizon.
    with pytest.raises(IngestError, match="no free busy request slot") as caught:
        wait_for_slot("busy", 0.25)
    assert not caught.value.permanent


def test_a_slot_file_left_by_a_clock_that_went_back_is_ignored(settings, monkeypatch):
    slots = settings.VAR_DIR / "slots"
    slots.mkdir(parents=True)
    (slots / "skewed.slot").write_text(repr(time.time() + 86_400))
    reserved = reserved_slots(monkeypatch)
    wait_for_slot("skewed", 0.2)
    # The slot a day ahead is ignored: the one handed out is the next free one, not after it.
    assert reserved and reserved[0] < time.time() + 60


def test_the_embedded_default_keeps_its_slots_in_a_file_not_the_local_cache(settings):
    assert not http._cache_is_shared()  # locmem: each process would throttle only itself
    wait_for_slot("arxiv-test", 0.5)
    assert float((settings.VAR_DIR / "slots" / "arxiv-test.slot").read_text()) > 0
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache"}}
    assert http._cache_is_shared()


# --- Two processes, one arXiv ---------------------------------------------------------

_WORKER = """
import json, os, sys, time
import django
django.setup()
from digest.sources import http
start_at, url, count = float(sys.argv[1]), sys.argv[2], int(sys.argv[3])
slots, sent = [], []

def recorded(reserve):
    def reserve_and_record(*args):
        start = reserve(*args)
        slots.append(start)
        return start
    return reserve_and_record

http._reserve_in_cache = recorded(http._reserve_in_cache)
http._reserve_in_file = recorded(http._reserve_in_file)
wait_for_slot = http.wait_for_slot

def wait_and_record(key, interval, *rest):
    wait_for_slot(key, interval, *rest)
    sent.append(time.time())  # the request leaves right after this

http.wait_for_slot = wait_and_record
time.sleep(max(0.0, start_at - time.time()))  # Both processes start together.
for _ in range(count):
    http.fetch(url, throttle="arxiv", interval=float(os.environ["ARXIV_MIN_INTERVAL_SECONDS"]))
print(json.dumps({"slots": slots, "sent": sent}))
"""


def _two_workers(url: str, *environments: dict[str, str], count: int = 3) -> list[dict]:
    """Two interpreters, each with its own settings, fetching `url` through arXiv's slot.
    Returns what each recorded: the slot starts it was given, and when it sent."""
    start_at = time.time() + 2.5  # Time for both interpreters to import Django.
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, repr(start_at), url, str(count)],
            cwd=ROOT,
            env={
                **os.environ,
                "DJANGO_SETTINGS_MODULE": "digest.settings",
                "INGEST_ALLOWED_NETWORKS": "127.0.0.0/8",  # the feed server's
                **environment,
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for environment in environments
    ]
    records = []
    for worker in workers:
        output, errors = worker.communicate(timeout=60)
        assert worker.returncode == 0, errors.decode()
        records.append(json.loads(output.decode().strip().splitlines()[-1]))
    return records


def _assert_slots_held(records: list[dict], interval: float, requests: int) -> None:
    """What the slot lock guarantees, whatever the machine's load: every request had
    its own slot, the slots of all processes together are `interval` apart, and no
    request left before its slot began. (When the server sees each request depends on
    the scheduler, so its arrival times are not asserted on.)"""
    slots = sorted(start for record in records for start in record["slots"])
    assert len(slots) == requests
    assert all(later - earlier >= interval - 1e-6 for earlier, later in itertools.pairwise(slots))
    for record in records:
        assert len(record["sent"]) == len(record["slots"])
        assert all(
            sent >= start for start, sent in zip(record["slots"], record["sent"], strict=True)
        )


def test_two_processes_on_one_machine_share_arxivs_slots(feed_server, tmp_path):
    """The embedded default: a locmem cache each, one var/ folder between them."""
    url = feed_server.serve("/rss/cs.AI", Reply(body=b"<feed/>"))
    machine = {
        "PAPERBOY_VAR_DIR": str(tmp_path / "var"),
        "ARXIV_MIN_INTERVAL_SECONDS": "0.5",
        "CACHE_URL": "locmemcache://each-process-its-own",
    }
    records = _two_workers(url, machine, machine)
    assert len(feed_server.hits("/rss/cs.AI")) == 6
    _assert_slots_held(records, 0.5, 6)


@pytest.fixture
def redis_url(tmp_path):
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed (deploy/install-test-services.sh)")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        server.terminate()
        server.wait(timeout=10)


@pytest.mark.integration  # a real redis-server and two worker processes
def test_processes_with_their_own_folders_share_arxivs_slots_through_redis(
    feed_server, tmp_path, redis_url
):
    """Two "machines": nothing in common but the cache, as with workers on two hosts."""
    url = feed_server.serve("/rss/cs.LG", Reply(body=b"<feed/>"))
    machines = [
        {
            "PAPERBOY_VAR_DIR": str(tmp_path / name),
            "ARXIV_MIN_INTERVAL_SECONDS": "0.5",
            "CACHE_URL": redis_url,
        }
        for name in ("a", "b")
    ]
    records = _two_workers(url, *machines)
    assert len(feed_server.hits("/rss/cs.LG")) == 6
    _assert_slots_held(records, 0.5, 6)
    assert not (tmp_path / "a" / "slots").exists()  # The slots lived in Redis.
