"""The one HTTP client of ingestion: polite, bounded and honest about what went wrong.

Every listing is fetched here: our User-Agent, connect/read/total timeouts, retries with
exponential backoff on timeouts, 429 and 5xx (honouring Retry-After), conditional GET,
a size cap applied while streaming, and a content-type check. Parsers get bytes, never a
URL, so nothing else in the project opens a connection.
"""

from __future__ import annotations

import email.utils
import fcntl
import functools
import logging
import math
import os
import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from django.conf import settings
from django.core.cache import cache, caches
from django.db import connection

from digest.sources import decoding, reach
from digest.sources.base import IngestError

logger = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
# How far ahead a caller may book an arXiv slot before giving up for this run.
MAX_SLOT_WAIT_SECONDS = 600.0
# Cache backends whose `add` is not shared between processes, or not atomic (also read
# by the deploy check in digest/ops/checks.py).
PROCESS_LOCAL_CACHES = frozenset({"LocMemCache", "DummyCache", "FileBasedCache"})


@dataclass(frozen=True)
class Patience:
    """How long a caller can wait for a body: attempts, timeouts (seconds), and how far
    ahead it may book a request slot. A pull can wait minutes; a page a person is
    looking at cannot (`Patience.of_a_page`)."""

    attempts: int
    connect: float
    read: float
    total: float
    slot_wait: float | None = None  # None: MAX_SLOT_WAIT_SECONDS

    @classmethod
    def of_a_pull(cls) -> Patience:
        return cls(
            attempts=max(1, settings.INGEST_MAX_ATTEMPTS),
            connect=settings.INGEST_CONNECT_TIMEOUT,
            read=settings.INGEST_READ_TIMEOUT,
            total=settings.INGEST_TOTAL_TIMEOUT,
        )

    @classmethod
    def of_a_page(cls) -> Patience:
        """One attempt in about ARXIV_LOOKUP_TIMEOUT, slot included: the page answers in
        time (a production worker is killed at 30 s) and what failed is tried later.
        The budget is split so that even a server that stalls at every step (slot,
        connect, first byte, a body dripping past the deadline) ends within twice it."""
        budget = settings.ARXIV_LOOKUP_TIMEOUT
        return cls(
            attempts=1,
            connect=min(budget / 4, settings.INGEST_CONNECT_TIMEOUT),
            read=budget * 0.75,
            total=budget,
            slot_wait=budget / 4,
        )


@dataclass
class Response:
    """A completed GET: 200 with its body, or 304 with none."""

    status: int
    content: bytes
    url: str
    content_type: str = ""
    etag: str = ""
    last_modified: str = ""

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def wait_for_slot(key: str, interval: float, max_wait: float | None = None) -> None:
    """Block until this process owns the next free request slot for `key`.

    Slots are handed out `interval` seconds apart to every process that asks, wherever
    it runs, so arXiv sees at most one request per interval from the whole site:

    * with a shared cache (Redis, Memcached, the database cache: `CACHE_URL`), through
      `cache.add`, atomic in each of them, so every worker on every machine sharing the
      cache takes part (production; machines need NTP-synchronised clocks);
    * with a process-local cache (the embedded default's locmem, or dummy/file caches,
      whose `add` is not shared or not atomic), through a slot file under `VAR_DIR`
      locked with `flock`, so every process on this machine takes part. The embedded
      default runs on one machine (its SQLite file), so that is the whole site.
    """
    if interval <= 0:
        return
    max_wait = MAX_SLOT_WAIT_SECONDS if max_wait is None else max_wait
    if _cache_is_shared():
        start = _reserve_in_cache(key, interval, max_wait)
    else:
        _warn_if_multi_machine()
        start = _reserve_in_file(key, interval, max_wait)
    if start is None:
        raise IngestError(
            f"no free {key} request slot in the next {max_wait:.0f} s", permanent=False
        )
    delay = start - time.time()
    if delay > 0:
        time.sleep(delay)


def _cache_is_shared() -> bool:
    return type(caches["default"]).__name__ not in PROCESS_LOCAL_CACHES


def _reserve_in_cache(key: str, interval: float, max_wait: float) -> float | None:
    """Slots start at multiples of `interval` on the wall clock; `cache.add` gives each once."""
    now = time.time()
    first = math.ceil(now / interval)
    last = max(first, math.floor((now + max_wait) / interval))
    for index in range(first, last + 1):
        start = index * interval
        ttl = math.ceil(start - now + interval) + 1
        if cache.add(f"paperboy:slot:{key}:{index}", 1, timeout=ttl):
            return start
    return None


def _reserve_in_file(key: str, interval: float, max_wait: float) -> float | None:
    """The next slot after the last one any process on this machine reserved.

    The file holds the start of the last reserved slot; `flock` makes read-and-advance
    atomic across processes (and threads: each call opens its own file description).
    The lock is held for the bookkeeping only, never while waiting for the slot.
    """
    directory = Path(settings.VAR_DIR) / "slots"
    directory.mkdir(parents=True, exist_ok=True)
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in key)
    descriptor = os.open(directory / f"{name}.slot", os.O_RDWR | os.O_CREAT, 0o644)
    with os.fdopen(descriptor, "r+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            now = time.time()
            try:
                last = float(handle.read(64).decode("ascii") or "-inf")
            except (ValueError, UnicodeDecodeError):
                last = -math.inf
            if not math.isfinite(last) or last > now + MAX_SLOT_WAIT_SECONDS + interval:
                last = -math.inf  # Unreadable, or left by a clock that has since gone back.
            start = max(now, last + interval)
            if start - now > max_wait:
                return None
            handle.seek(0)
            handle.truncate()
            handle.write(repr(start).encode("ascii"))
            handle.flush()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
    return start


@functools.cache
def _warn_if_multi_machine() -> None:
    if connection.vendor != "sqlite":
        logger.warning(
            "arXiv request slots are kept in %s, shared by this machine's processes only: "
            "set CACHE_URL to a shared cache (redis://...) if other machines pull too",
            Path(settings.VAR_DIR) / "slots",
        )


def _retry_after(value: str | None) -> float | None:
    """Seconds the server asked us to wait: delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _read_capped(response: httpx.Response, *, limit: int, deadline: float) -> bytes:
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise IngestError(f"response of {declared} bytes is over the {limit}-byte limit")
    chunks: list[bytes] = []
    size = 0
    # Not iter_bytes(): httpx would inflate each chunk whole (see digest.sources.decoding).
    body = decoding.decoded(response.iter_raw(), response.headers.get("content-encoding", ""))
    for chunk in body:
        size += len(chunk)
        if size > limit:
            raise IngestError(f"response is over the {limit}-byte limit")
        if time.monotonic() > deadline:
            raise httpx.ReadTimeout("total download time exceeded", request=response.request)
        chunks.append(chunk)
    return b"".join(chunks)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """httpx's own default (certifi's CA bundle), built once per process, not per pull.

    Loading the bundle takes ~20 ms, as long as the rest of a small pull's download.
    """
    return httpx.create_ssl_context(trust_env=False)


def _client(patience: Patience) -> httpx.Client:
    timeout = httpx.Timeout(
        connect=patience.connect,
        read=patience.read,
        write=patience.read,
        pool=patience.connect,
    )
    return httpx.Client(
        timeout=timeout,
        follow_redirects=True,
        max_redirects=5,
        headers={
            "User-Agent": settings.PAPERBOY_USER_AGENT,
            "Accept-Encoding": decoding.ACCEPT_ENCODING,
        },
        trust_env=False,
        verify=_ssl_context(),
        # Each request (a redirect's too) and the address it reached: public ones only.
        event_hooks={"request": [_check_destination], "response": [_check_peer]},
    )


def _check_destination(request: httpx.Request) -> None:
    reach.check_host(request.url.host, str(request.url))


def _check_peer(response: httpx.Response) -> None:
    stream = response.extensions.get("network_stream")
    peer = stream.get_extra_info("server_addr") if stream is not None else None
    reach.check_peer(peer, str(response.request.url))


def fetch(
    url: str,
    *,
    etag: str = "",
    last_modified: str = "",
    accept: str = "*/*",
    content_types: tuple[str, ...] = (),
    throttle: str | None = None,
    interval: float = 0.0,
    patience: Patience | None = None,
) -> Response:
    """GET `url` politely. Raises IngestError (permanent or not) when no usable body came.

    `content_types` lists the acceptable media types (empty: any); `throttle` names a
    shared slot (e.g. "arxiv") taken before every attempt, `interval` seconds apart;
    `patience`: how long to try (a pull's, from the INGEST_* settings, by default).
    """
    patience = patience or Patience.of_a_pull()
    headers = {"Accept": accept}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    attempts = patience.attempts
    last_error: IngestError | None = None
    # The total covers every attempt and the waits between them (not arXiv's slot waits):
    # a server that always stalls holds a pass for the total, not attempts times it.
    budget = patience.total
    tried = 0
    with _client(patience) as client:
        for attempt in range(attempts):
            if throttle:
                wait_for_slot(throttle, interval, patience.slot_wait)
            started = time.monotonic()
            tried += 1
            try:
                return _attempt(client, url, headers, content_types, budget)
            except _Retryable as retry:
                last_error = IngestError(str(retry), permanent=False, http_status=retry.status)
                if attempt + 1 == attempts:
                    break
                delay = _backoff(attempt, retry)
                budget -= time.monotonic() - started + delay
                if budget <= 0:
                    break
                logger.info("retrying %s in %.2f s: %s", url, delay, retry)
                time.sleep(delay)
    assert last_error is not None
    used_up = f" (its INGEST_TOTAL_TIMEOUT of {patience.total:g} s used up)" if budget <= 0 else ""
    raise IngestError(
        f"gave up after {tried} attempt{'s' * (tried > 1)}{used_up}: {last_error}",
        permanent=False,
        http_status=last_error.http_status,
    )


class _Retryable(Exception):
    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


def _backoff(attempt: int, retry: _Retryable) -> float:
    cap = settings.INGEST_MAX_BACKOFF_SECONDS
    if (retry_after := retry.retry_after) is not None:
        if retry_after > cap:
            raise IngestError(
                f"{retry}; the server asked to retry after {retry_after:.0f} s (over the "
                f"{cap:.0f} s cap)",
                permanent=False,
                http_status=retry.status,
            )
        return retry_after
    return min(cap, settings.INGEST_BACKOFF_SECONDS * 2**attempt)


def _attempt(
    client: httpx.Client,
    url: str,
    headers: dict[str, str],
    content_types: tuple[str, ...],
    total: float,
) -> Response:
    deadline = time.monotonic() + total
    try:
        with client.stream("GET", url, headers=headers) as response:
            status = response.status_code
            if status == 304:
                return Response(
                    status=304,
                    content=b"",
                    url=str(response.url),
                    etag=response.headers.get("etag", headers.get("If-None-Match", "")),
                    last_modified=response.headers.get(
                        "last-modified", headers.get("If-Modified-Since", "")
                    ),
                )
            if status in RETRY_STATUSES:
                raise _Retryable(
                    f"HTTP {status} from {url}",
                    status=status,
                    retry_after=_retry_after(response.headers.get("retry-after")),
                )
            if status >= 400:
                raise IngestError(f"HTTP {status} from {url}", permanent=True, http_status=status)
            if status != 200:
                raise IngestError(f"unexpected HTTP {status} from {url}", http_status=status)
            content_type = response.headers.get("content-type", "")
            if content_types and _media_type(content_type) not in content_types:
                raise IngestError(
                    f"unexpected content type {content_type or '(none)'!r} from {url}",
                    http_status=status,
                )
            try:
                content = _read_capped(response, limit=settings.INGEST_MAX_BYTES, deadline=deadline)
            except IngestError as error:
                error.http_status = status
                raise
            return Response(
                status=status,
                content=content,
                url=str(response.url),
                content_type=content_type,
                etag=response.headers.get("etag", ""),
                last_modified=response.headers.get("last-modified", ""),
            )
    except (httpx.InvalidURL, httpx.UnsupportedProtocol) as error:
        raise IngestError(f"bad URL {url!r}: {error}") from error
    except httpx.TooManyRedirects as error:
        raise IngestError(f"too many redirects from {url}") from error
    except httpx.TimeoutException as error:
        raise _Retryable(f"timed out fetching {url} ({type(error).__name__})") from error
    except httpx.TransportError as error:
        raise _Retryable(f"could not fetch {url}: {error or type(error).__name__}") from error
