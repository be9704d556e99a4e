"""arXiv announcement feeds (rss.arxiv.org), in both their RSS 2.0 and Atom flavours.

Each item carries `arxiv:announce_type`: `new` and `cross` enter the day's pool,
`replace` and `replace-cross` only refresh a paper we already hold (see digest.ingest).
The authors come as ONE comma-joined `dc:creator` string, and the description starts
with "arXiv:<id>vN Announce Type: <type> \\nAbstract: ", which we strip.
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings

from digest.sources.base import (
    ARXIV_ID,
    Fetched,
    IngestError,
    Listing,
    PaperRecord,
    SourceAdapter,
)
from digest.sources.feedparsing import (
    arxiv_day,
    arxiv_links,
    categories,
    damage,
    parse_feed,
    split_authors,
    text_of,
    to_utc,
    withdrawal_notice,
)
from digest.sources.http import fetch as http_fetch
from digest.sources.taxonomy import unknown_categories
from digest.sources.text import source_text

FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/xml",
    "text/xml",
)
_PREFIX = re.compile(
    r"^\s*arXiv:(?P<id>\S+)\s+Announce Type:\s*(?P<type>[\w-]+)\s*(?:Abstract:\s*)?",
    re.IGNORECASE,
)
# Listings that only revise a paper already announced: they never make it new again.
REFRESH_ONLY = frozenset({"replace", "replace-cross", "absonly"})


FEED_BASE = "https://rss.arxiv.org/rss/"


def feed_url(categories: list[str], *, base: str = FEED_BASE) -> str:
    """The announcement feed of one or more categories: `.../rss/cs.LG+stat.ML`.

    A source may be given as a category instead of a URL; `base` ends in `/rss/` (RSS
    2.0) or `/atom/` (Atom), or is another server's folder in tests.
    """
    problem = unknown_categories(categories) if categories else "not arXiv categories: (none)"
    if problem:
        raise IngestError(problem)
    return base.rstrip("/") + "/" + "+".join(categories)


def arxiv_throttle() -> tuple[str, float]:
    """The shared slot every request to arXiv takes: (cache key, seconds apart)."""
    return "arxiv", settings.ARXIV_MIN_INTERVAL_SECONDS


class ArxivRssAdapter(SourceAdapter):
    kind = "arxiv-rss"

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
        """One conditional GET of the feed, inside arXiv's shared request slot."""
        key, interval = arxiv_throttle()
        response = http_fetch(
            url,
            etag=etag,
            last_modified=last_modified,
            accept="application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.5",
            content_types=FEED_TYPES,
            throttle=key,
            interval=interval,
        )
        return Fetched.of(response)

    def parse(self, raw: bytes) -> Listing:
        """Every item of the feed; an empty feed (weekends, holidays) gives []. A feed cut
        off mid-entry keeps the entries read, and says so in its problems."""
        feed = parse_feed(raw, what="arXiv feed")
        channel_day = feed.feed.get("published") or feed.feed.get("updated")
        records = [self._record(entry, channel_day) for entry in feed.entries]
        return Listing(records, damage(feed))

    def _record(self, entry: Any, channel_day: Any) -> PaperRecord:
        # dict.get, not FeedParserDict.get: none of these keys has one of its aliases, and
        # its lookup costs ~1.5 us a call, a dozen calls an entry. "updated" keeps
        # feedparser's get, for its fallback to "published" when an item has no <updated>.
        get = dict.get
        summary = text_of(get(entry, "summary"))
        prefix = _PREFIX.match(summary)
        abstract = summary[prefix.end() :] if prefix else summary
        identifier = text_of(get(entry, "id")) or text_of(get(entry, "link"))
        if prefix:
            identifier = prefix.group("id")
        match = ARXIV_ID.search(identifier)
        arxiv_id = match.group("id") if match else identifier
        version = int(match.group("version") or 1) if match else 1
        announce_type = text_of(get(entry, "arxiv_announce_type")).strip().lower()
        if not announce_type and prefix:
            announce_type = prefix.group("type").lower()
        stamp = get(entry, "published") or channel_day
        abs_url, pdf_url = arxiv_links(arxiv_id)
        abstract = source_text(abstract)
        return PaperRecord(
            arxiv_id=arxiv_id,
            version=min(version, 999),
            title=source_text(text_of(get(entry, "title"))),
            abstract=abstract,
            withdrawn=withdrawal_notice(abstract),
            authors=split_authors(get(entry, "author")),
            categories=categories([get(tag, "term") for tag in get(entry, "tags") or []]),
            announce_type=announce_type[:20],
            published_at=to_utc(stamp),
            updated_at=to_utc(entry.get("updated")),
            announced_on=arxiv_day(stamp),
            abs_url=abs_url,
            pdf_url=pdf_url,
            doi=source_text(text_of(get(entry, "arxiv_doi"))),
            journal_ref=source_text(text_of(get(entry, "arxiv_journal_reference"))),
        )
