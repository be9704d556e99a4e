"""Helpers the XML and JSON adapters share: a safe feedparser call, dates, authors."""

from __future__ import annotations

import email.utils
import gc
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from xml.sax import SAXException, SAXParseException
from zoneinfo import ZoneInfo

import feedparser
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

from digest.sources.base import IngestError
from digest.sources.text import readable

ARXIV_TZ = ZoneInfo("America/New_York")
_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
# An arXiv category name: cs.LG, math-ph, q-bio.NC.
CATEGORY = re.compile(r"[a-z][a-z\-]*(?:\.[A-Za-z][A-Za-z\-]*)?")
_PARENTHESES = re.compile(r"\([^()]*\)")
_AUTHOR_SEPARATOR = re.compile(r",|\band\b|;")
# How arXiv words a withdrawal, as the new version's abstract or its comment.
_WITHDRAWAL = re.compile(
    r"\s*(?:this|the)\s+(?:paper|submission|article|manuscript|preprint|work)\s+"
    r"(?:has\s+been|is\s+being|was|is)\s+withdrawn\b",
    re.IGNORECASE,
)


def guard_xml(raw: bytes) -> None:
    """Refuse XML that declares a DTD or entities (billion laughs, external entities).

    Listings never need a DTD. defusedxml stops at the declaration, before any
    expansion, and the byte scan also covers documents expat cannot start on (where
    feedparser would fall back to its forgiving parser).
    """
    probe = raw.replace(b"\x00", b"") if b"\x00" in raw[:4] else raw
    if _DECLARATION.search(probe):
        raise IngestError("refused XML: it declares a DTD or entities")
    try:
        for _event, _element in iterparse(io.BytesIO(raw), events=("start",), forbid_dtd=True):
            break
    except DefusedXmlException as error:
        raise IngestError(f"refused XML: {type(error).__name__}") from error
    except (ET.ParseError, ValueError, LookupError):
        pass  # Broken or truncated XML is feedparser's to judge (bozo), not a threat.


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a feedparser parse.

    feedparser allocates dicts and lists for every element, none of them in a reference
    cycle (a well-formed parse leaves no cyclic garbage): reference counting frees it
    all, so the collections its allocations set off find nothing, and the full ones
    traverse the whole growing result: ~1% of the parse of a 2,000-entry feed, ~6% of a
    20,000-entry one (bench/bench_ingest.py). Not wider: what follows calls
    pylatexenc, whose every conversion leaves ~20 KiB of cyclic garbage that only a
    collection frees. A collector someone else paused stays paused.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def parse_feed(raw: bytes, *, what: str) -> Any:
    """feedparser on bytes, after the XML guard. Truncation is a warning; non-feeds fail."""
    if not isinstance(raw, bytes | bytearray):
        raise IngestError(f"{what}: expected bytes, got {type(raw).__name__}")
    guard_xml(raw)
    try:
        with gc_paused():
            feed = feedparser.parse(bytes(raw), sanitize_html=False, resolve_relative_uris=False)
    except Exception as error:  # feedparser's fallback parsers raise assorted errors.
        raise IngestError(f"{what}: unparseable ({type(error).__name__}: {error})") from error
    if not feed.get("version") and not feed.entries:
        reason = feed.get("bozo_exception") or "no RSS or Atom root element"
        raise IngestError(f"{what}: not an RSS or Atom feed ({reason})")
    return feed


def damage(feed: Any) -> list[str]:
    """What a feed that parsed anyway lost: one line if its XML breaks off or goes wrong
    (feedparser's `bozo` with an XML error), none for its notes about encodings."""
    error = feed.get("bozo_exception")
    if not feed.get("bozo") or not isinstance(error, SAXException):
        return []
    where = ""
    if isinstance(error, SAXParseException):
        where = f"line {error.getLineNumber()}, column {error.getColumnNumber()}: "
    return [
        f"the feed is cut off or malformed ({where}{error.getMessage()}): kept the "
        f"{len(feed.entries)} entries read; it is read again in full at the next pull"
    ]


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 or RFC 822 timestamp as an aware datetime in its own offset, or None."""
    if not isinstance(value, str) or not value.strip():
        return None
    return _parse_timestamp(value.strip())


@lru_cache(maxsize=1024)  # A day's feed repeats one announcement stamp in every entry.
def _parse_timestamp(text: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def to_utc(value: Any) -> datetime | None:
    parsed = parse_timestamp(value)
    try:
        return parsed.astimezone(UTC) if parsed else None
    except (OverflowError, ValueError):
        return None


def arxiv_day(value: Any) -> date | None:
    """The arXiv announcement day of a timestamp: its date at arXiv's midnight (US Eastern)."""
    parsed = parse_timestamp(value)
    try:
        return parsed.astimezone(ARXIV_TZ).date() if parsed else None
    except (OverflowError, ValueError):
        return None


def utc_day(value: Any) -> date | None:
    parsed = to_utc(value)
    return parsed.date() if parsed else None


def split_authors(text: Any) -> list[str]:
    """'A. One (MIT, CMU), B. Two and C. Thr\\'ee' -> ['A. One', 'B. Two', 'C. Thrée']."""
    if not isinstance(text, str):
        return []
    previous = None
    while "(" in text and previous != text:  # Nested parentheses: strip innermost first.
        previous, text = text, _PARENTHESES.sub("", text)
    # One readable() over the whole string, not one per name: a feed has ~30k names.
    text = readable(text)
    # Most lists are only commas: then str.split gives the regex's pieces, ~10x faster.
    parts = _AUTHOR_SEPARATOR.split(text) if "and" in text or ";" in text else text.split(",")
    return [name for name in map(str.strip, parts) if name]


def categories(terms: list[Any]) -> list[str]:
    """arXiv category terms, in order, without duplicates or MSC/ACM codes."""
    seen: list[str] = []
    for term in terms:
        if isinstance(term, str) and CATEGORY.fullmatch(term) and term not in seen:
            seen.append(term)
    return seen


def withdrawal_notice(*texts: str) -> bool:
    """Whether one of `texts` opens with arXiv's notice that the paper was withdrawn."""
    return any(_WITHDRAWAL.match(text) for text in texts)


def text_of(value: Any) -> str:
    return value if isinstance(value, str) else ""


def arxiv_links(arxiv_id: str) -> tuple[str, str]:
    """Unversioned abstract and PDF links, so both always show the latest version."""
    return f"https://arxiv.org/abs/{arxiv_id}", f"https://arxiv.org/pdf/{arxiv_id}"
