"""The arXiv API (export.arxiv.org/api/query): Atom pages, for backfills.

A source URL is a full query URL; its `max_results` is the total wanted (capped by
ARXIV_API_MAX_RESULTS) and `fetch()` pages through it ARXIV_API_PAGE_SIZE at a time,
each request inside arXiv's shared one-per-3-seconds slot. `query_url()` builds the
URL of a date-range backfill (of submission dates). A paper is dated by the feed day
that listed it (`arxiv_mailings.listing_day`), as the announcement feeds date theirs.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings

from digest.lib import progress
from digest.sources.arxiv_mailings import listing_day
from digest.sources.arxiv_rss import FEED_TYPES, arxiv_throttle
from digest.sources.base import (
    ARXIV_ID,
    Fetched,
    IngestError,
    Listing,
    PaperRecord,
    SourceAdapter,
)
from digest.sources.feedparsing import (
    arxiv_links,
    categories,
    damage,
    parse_feed,
    text_of,
    to_utc,
    withdrawal_notice,
)
from digest.sources.http import fetch as http_fetch
from digest.sources.taxonomy import unknown_categories
from digest.sources.text import source_text

API_URL = "https://export.arxiv.org/api/query"
# Tries of a page that comes back empty short of the query's total (the API does that
# now and then) before the pull keeps what it has and says so.
EMPTY_PAGE_TRIES = 3
_TOTAL = re.compile(rb"<(?:\w+:)?totalResults[^>]*>\s*(\d+)\s*<")


def query_url(
    *,
    categories: list[str] | None = None,
    since: date | None = None,
    until: date | None = None,
    query: str = "",
    max_results: int | None = None,
    base: str = API_URL,
) -> str:
    """The API URL of a backfill: papers in `categories` submitted between two dates.

    `query` adds the API's own search terms (`ti:`, `au:`, `abs:` ...); `base` is the
    endpoint (another server's in tests), without its query string. A category arXiv
    does not have raises IngestError (the API would answer it with nothing).
    """
    if categories and (problem := unknown_categories(categories)):
        raise IngestError(problem)
    terms = []
    if query:
        terms.append(f"({query})")
    if categories:
        terms.append("(" + " OR ".join(f"cat:{category}" for category in categories) + ")")
    if since or until:
        start = (since or date(1991, 1, 1)).strftime("%Y%m%d0000")
        end = (until or date.today()).strftime("%Y%m%d2359")
        terms.append(f"submittedDate:[{start} TO {end}]")
    params = {
        "search_query": " AND ".join(terms) or "all:*",
        "sortBy": "submittedDate",
        "sortOrder": "ascending",
        "start": 0,
        "max_results": max_results or settings.ARXIV_API_MAX_RESULTS,
    }
    endpoint = urlunsplit(urlsplit(base)._replace(query="", fragment=""))
    return f"{endpoint}?{urlencode(params)}"


def total_results(raw: bytes) -> int | None:
    """opensearch:totalResults of a page, read without parsing the whole page twice."""
    match = _TOTAL.search(raw[:4096])
    return int(match.group(1)) if match else None


def _page_url(url: str, start: int, size: int) -> str:
    parts = urlsplit(url)
    params = [(k, v) for k, v in parse_qsl(parts.query) if k not in ("start", "max_results")]
    params += [("start", str(start)), ("max_results", str(size))]
    return urlunsplit(parts._replace(query=urlencode(params)))


def _wanted(url: str) -> tuple[int, int]:
    params = dict(parse_qsl(urlsplit(url).query))
    try:
        start = max(0, int(params.get("start", 0)))
        wanted = max(1, int(params.get("max_results", settings.ARXIV_API_MAX_RESULTS)))
    except ValueError as error:
        raise IngestError(f"bad start/max_results in {url!r}") from error
    return start, min(wanted, settings.ARXIV_API_MAX_RESULTS)


def _empty_page(position: int, total: int, kept: int) -> str:
    return (
        f"the arXiv API answered no entries from result {position} on, of the {total} it "
        f"counted, {EMPTY_PAGE_TRIES} times: kept the {kept} read; run the backfill again "
        "for the rest"
    )


class ArxivApiAdapter(SourceAdapter):
    kind = "arxiv-api"

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
        """Every page of the query, one throttled request each; a short page is the last."""
        start, wanted = _wanted(url)
        key, interval = arxiv_throttle()
        size = max(1, settings.ARXIV_API_PAGE_SIZE)
        bodies: list[bytes] = []
        status = None
        fetched = 0
        total = None
        empty_tries = 0
        problems: list[str] = []
        while fetched < wanted and (total is None or start + fetched < total):
            count = min(size, wanted - fetched)
            response = http_fetch(
                _page_url(url, start + fetched, count),
                accept="application/atom+xml",
                content_types=FEED_TYPES,
                throttle=key,
                interval=interval,
            )
            status = response.status
            if total is None:
                total = total_results(response.content)
                if total is not None:
                    progress.current().set_total(min(wanted, max(0, total - start)))
            entries = response.content.count(b"<entry")
            if not entries and total is not None and start + fetched < total:
                empty_tries += 1
                if empty_tries < EMPTY_PAGE_TRIES:
                    continue
                problems.append(_empty_page(start + fetched, total, fetched))
                break
            bodies.append(response.content)
            fetched += entries
            progress.current().advance(entries)  # a backfill's bar counts papers fetched
            if entries < count:  # A short page is the last one: never loop on a stale total.
                break
        return Fetched(bodies=bodies, http_status=status, problems=problems)

    def parse(self, raw: bytes) -> Listing:
        """One API page. An API error document (an entry titled "Error") is permanent; a
        page cut off mid-entry keeps the entries read, and says so in its problems."""
        feed = parse_feed(raw, what="arXiv API response")
        records = []
        for entry in feed.entries:
            entry_id = text_of(entry.get("id"))
            if "/api/errors" in entry_id:
                message = text_of(entry.get("summary")) or "unknown error"
                raise IngestError(f"arXiv API error: {message.strip()}")
            records.append(self._record(entry))
        return Listing(records, damage(feed))

    def _record(self, entry: Any) -> PaperRecord:
        identifier = text_of(entry.get("id"))
        match = ARXIV_ID.search(identifier.split("/abs/", 1)[-1])
        arxiv_id = match.group("id") if match else identifier
        version = int(match.group("version") or 1) if match else 1
        primary = entry.get("arxiv_primary_category") or {}
        terms = [primary.get("term") if isinstance(primary, dict) else None]
        terms += [tag.get("term") for tag in entry.get("tags") or []]
        abs_url, pdf_url = arxiv_links(arxiv_id)
        abstract = source_text(text_of(entry.get("summary")))
        comment = source_text(text_of(entry.get("arxiv_comment")))
        published = to_utc(entry.get("published"))
        return PaperRecord(
            arxiv_id=arxiv_id,
            version=min(version, 999),
            title=source_text(text_of(entry.get("title"))),
            abstract=abstract,
            authors=[
                source_text(text_of(author.get("name")))
                for author in entry.get("authors") or []
                if text_of(author.get("name")).strip()
            ],
            categories=categories(terms),
            published_at=published,
            updated_at=to_utc(entry.get("updated")),
            # The API knows the submission; digests go by the feed day that listed it.
            announced_on=listing_day(published) if published else None,
            abs_url=abs_url,
            pdf_url=pdf_url,
            comment=comment,
            withdrawn=withdrawal_notice(abstract, comment),
            doi=source_text(text_of(entry.get("arxiv_doi"))),
            journal_ref=source_text(text_of(entry.get("arxiv_journal_ref"))),
        )
