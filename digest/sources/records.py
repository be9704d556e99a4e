"""From a source's PaperRecord to the values of a Paper row, and the merge of two views.

`clean_record` validates one record and builds its stored and display forms;
`merge_values` decides, field by field, what survives when two sources (or two pulls)
describe the same paper. Both are pure: digest.ingest does the reading and writing.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

from django.core.validators import URLValidator
from django.utils import timezone

from digest.sources.arxiv_rss import REFRESH_ONLY
from digest.sources.base import ARXIV_ID, IngestError, PaperRecord
from digest.sources.text import readable

# Paper fields a pull may write (never arxiv_id, first_seen_at or the auto timestamps).
FIELDS = [
    "version",
    "title",
    "title_text",
    "abstract",
    "abstract_text",
    "authors",
    "categories",
    "primary_category",
    "announce_type",
    "published_at",
    "updated_at",
    "announced_on",
    "abs_url",
    "pdf_url",
    "hf_url",
    "code_url",
    "project_url",
    "thumbnail_url",
    "organization",
    "upvotes",
    "num_comments",
    "comment",
    "doi",
    "journal_ref",
]
# What a stub (a record without its abstract) may have borrowed from its channel or pull.
_STUB_BORROWED = ("announced_on", "announce_type", "published_at")
_URL_FIELDS = ("abs_url", "pdf_url", "hf_url", "code_url", "project_url", "thumbnail_url")
validate_url = URLValidator(schemes=["http", "https"])
ARXIV_BEGAN = date(1991, 8, 14)
_LINK = re.compile(r"https?://[^\s/?#\"'<>]+\.[^\s/?#\"'<>]*(?::\d+)?(?:[/?#][^\s\"'<>]*)?")


def clean_record(record: PaperRecord, replay_on: date | None) -> dict[str, Any]:
    """The Paper field values of one record, or IngestError saying why it is unusable."""
    raw_id = record.arxiv_id if isinstance(record.arxiv_id, str) else ""
    match = ARXIV_ID.fullmatch(raw_id.strip())
    if not match:
        raise IngestError(f"no valid arXiv id ({raw_id[:60]!r})")
    arxiv_id, suffix = match.group("id"), match.group("version")
    title_text = readable(record.title)
    if not title_text:
        raise IngestError(f"{arxiv_id}: empty title")
    categories = [c[:40] for c in record.categories if isinstance(c, str) and c][:50]
    values: dict[str, Any] = {
        "arxiv_id": arxiv_id,
        "version": max(1, min(max(int(record.version or 1), int(suffix or 1)), 32767)),
        "title": record.title.strip(),
        "title_text": title_text,
        "abstract": (record.abstract or "").strip(),
        "abstract_text": readable(record.abstract or ""),
        "authors": [name[:300] for name in record.authors if isinstance(name, str) and name][:5000],
        "categories": categories,
        "primary_category": categories[0] if categories else "",
        "announce_type": (record.announce_type or "")[:20],
        "published_at": record.published_at,
        "updated_at": record.updated_at,
        "announced_on": replay_on or _listing_day(record.announced_on),
        "organization": (record.organization or "")[:200],
        "upvotes": record.upvotes or 0,
        "num_comments": record.num_comments or 0,
        "has_upvotes": record.upvotes is not None,
        "has_comments": record.num_comments is not None,
        "comment": record.comment or "",
        "doi": (record.doi or "")[:200],
        "journal_ref": record.journal_ref or "",
        "withdrawn": bool(record.withdrawn),
    }
    for name in _URL_FIELDS:
        url = (getattr(record, name) or "").strip()
        values[name] = url if url and len(url) <= 300 and _is_link(url) else ""
    return values


def _listing_day(day: date | None) -> date:
    """The source's day, or today when it has none or one no listing can have: a day
    ahead (beyond the time zones' spread) would keep the paper in every digest's pool
    for ever, and one before arXiv began would never offer it."""
    today = timezone.localdate()
    if day is None or not ARXIV_BEGAN <= day <= today + timedelta(days=1):
        return today
    return day


def _is_link(url: str) -> bool:
    """Cheap check for stored links: Django's URLValidator costs ~10 µs a call, per link."""
    return bool(_LINK.fullmatch(url))


def merge_values(  # noqa: C901 - one rule per field, read top to bottom
    current: dict[str, Any], incoming: dict[str, Any]
) -> dict[str, Any]:
    """The best of two views of one paper. `announced_on` never moves once set, except
    on a stub: a record cut short by a truncated feed (no abstract) took its date from the
    channel or the pull, so the first complete record corrects it."""
    if not current["abstract"] and incoming["abstract"]:
        current = {**current, **{n: incoming[n] or current[n] for n in _STUB_BORROWED}}
    merged = dict(current)
    newer = incoming["version"] > current["version"]
    merged["version"] = max(current["version"], incoming["version"])
    if newer or not current["title"]:
        merged["title"], merged["title_text"] = incoming["title"], incoming["title_text"]
    if incoming["abstract"] and (
        newer or len(incoming["abstract_text"]) > len(current["abstract_text"])
    ):
        merged["abstract"], merged["abstract_text"] = (
            incoming["abstract"],
            incoming["abstract_text"],
        )
    for name in ("authors", "categories"):
        if incoming[name] and (newer or not current[name]):
            merged[name] = incoming[name]
    merged["primary_category"] = merged["categories"][0] if merged["categories"] else ""
    for name in ("comment", "doi", "journal_ref"):
        if incoming[name] and (newer or not current[name]):
            merged[name] = incoming[name]
    # The first announcement stands; a revision only fills a blank (or a revision).
    if not current["announce_type"] or (
        current["announce_type"] in REFRESH_ONLY and incoming["announce_type"]
    ):
        merged["announce_type"] = incoming["announce_type"]
    for name in ("abs_url", "pdf_url", "hf_url"):
        merged[name] = current[name] or incoming[name]
    for name in ("code_url", "project_url", "thumbnail_url", "organization"):
        merged[name] = incoming[name] or current[name]
    stamps = [s for s in (current["published_at"], incoming["published_at"]) if s]
    merged["published_at"] = min(stamps) if stamps else None
    stamps = [s for s in (current["updated_at"], incoming["updated_at"]) if s]
    merged["updated_at"] = max(stamps) if stamps else None
    # HF counts are live: the latest pull wins.
    if incoming.get("has_upvotes"):
        merged["upvotes"] = incoming["upvotes"]
        merged["has_upvotes"] = True
    merged["withdrawn"] = bool(current.get("withdrawn") or incoming.get("withdrawn"))
    if incoming.get("has_comments"):
        merged["num_comments"] = incoming["num_comments"]
        merged["has_comments"] = True
    return merged
