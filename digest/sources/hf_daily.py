"""Hugging Face Daily Papers: the JSON API, with the web page as fallback.

The API (`/api/daily_papers[?date=YYYY-MM-DD]`) answers a JSON array of items, each
with a `paper` (arXiv id, title, summary, authors, upvotes ...) and the Daily Papers
context (`publishedAt` on Daily Papers, `numComments`, `submittedBy`, `organization`).
The schema drifts, so everything but `paper.id` and `paper.title` is optional.
When the API fails, `fetch()` reads the page (`/papers[/date/YYYY-MM-DD]`): it embeds
the same items as HTML-escaped JSON in the `data-props` of its `SVELTE_HYDRATER`
elements (`data-target="DailyPapers"`).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

from digest.sources.base import (
    ARXIV_ID,
    Fetched,
    IngestError,
    Listing,
    PaperRecord,
    SourceAdapter,
)
from digest.sources.feedparsing import arxiv_links, to_utc, utc_day
from digest.sources.http import fetch as http_fetch
from digest.sources.text import source_text

logger = logging.getLogger(__name__)

HF_PAPER_URL = "https://huggingface.co/papers/{id}"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def page_url(api_url: str) -> str | None:
    """The web page that shows the same list as a daily_papers API URL, if it is one."""
    parts = urlsplit(api_url)
    if not parts.path.rstrip("/").endswith("/api/daily_papers"):
        return None
    base = parts.path.rstrip("/")[: -len("/api/daily_papers")]
    day = dict(parse_qsl(parts.query)).get("date", "")
    path = f"{base}/papers/date/{day}" if _DATE.fullmatch(day) else f"{base}/papers"
    return urlunsplit(parts._replace(path=path, query=""))


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    """A count as a number, or as text of one ("64": the schema drifts), else None."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return min(max(value, 0), 2**31 - 1)


def _author_names(authors: Any) -> list[str]:
    """Names from author objects ({"name": ...}) or, as the schema drifts, plain strings."""
    if not isinstance(authors, list):
        return []
    names = (_str(a.get("name")) if isinstance(a, dict) else _str(a) for a in authors)
    return [source_text(name) for name in names if name.strip()]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _organization(*candidates: Any) -> str:
    for candidate in candidates:
        org = _dict(candidate)
        name = _str(org.get("fullname")) or _str(org.get("name"))
        if name.strip():
            return source_text(name)[:200]
    return ""


def _http_url(value: Any) -> str:
    url = _str(value).strip()
    return url if url.startswith(("https://", "http://")) else ""


def thumbnail_url(value: Any, listing_url: str = HF_PAPER_URL) -> str:
    """The item's `thumbnail` if it is an https URL on the listing's own host (or one of
    its subdomains, e.g. cdn-thumbnails.huggingface.co), else "": a digest links to
    it, so nothing else (a tracker, a plain-http or a look-alike host) gets through."""
    url = _str(value).strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    site = (urlsplit(listing_url).hostname or "").lower().removeprefix("www.")
    if parts.scheme != "https" or parts.username or parts.password or parts.port:
        return ""
    if not site or not (host == site or host.endswith("." + site)):
        return ""
    if len(url) > 300 or any(c.isspace() or c in "\"'<>" for c in url):
        return ""
    return url


class HfDailyAdapter(SourceAdapter):
    kind = "hf-daily"

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
        """The JSON API, conditionally; if it fails or answers something other than a
        JSON list (a maintenance page, a truncated body), the Daily Papers page instead."""
        try:
            response = http_fetch(
                url,
                etag=etag,
                last_modified=last_modified,
                accept="application/json",
                content_types=("application/json",),
            )
            if not response.not_modified:
                self._json_items(response.content)  # Unusable JSON: take the page.
        except IngestError as error:
            fallback = page_url(url)
            if not fallback:
                raise
            logger.warning("Daily Papers API failed (%s); reading %s instead", error, fallback)
            try:
                response = http_fetch(fallback, accept="text/html", content_types=("text/html",))
            except IngestError as page_error:
                raise IngestError(
                    f"{error}; the page fallback failed too: {page_error}",
                    permanent=error.permanent and page_error.permanent,
                    http_status=error.http_status,
                ) from page_error
        return Fetched.of(response)

    def parse(self, raw: bytes) -> Listing:
        """A JSON array of items, or an HTML page with the items in its data-props."""
        head = raw[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
        if head[:1] in (b"[", b"{"):
            items, day = self._json_items(raw), None
        elif head[:1] == b"<":
            items, day = self._html_items(raw)
        else:
            raise IngestError("Daily Papers: neither JSON nor HTML")
        return Listing(self._record(item, day) for item in items)

    def _json_items(self, raw: bytes) -> list[Any]:
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as error:
            raise IngestError(f"Daily Papers: invalid JSON ({type(error).__name__})") from error
        if isinstance(data, dict):
            data = data.get("dailyPapers")
        if not isinstance(data, list):
            raise IngestError("Daily Papers: expected a JSON array of items")
        return data

    def _html_items(self, raw: bytes) -> tuple[list[Any], str | None]:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
                soup = BeautifulSoup(raw, "html.parser")
        except Exception as error:  # html.parser copes with nearly anything; say so if not.
            raise IngestError(f"Daily Papers page: unparseable HTML ({error})") from error
        items: list[Any] = []
        day = None
        found = False
        for element in soup.select(".SVELTE_HYDRATER[data-props]"):
            props_text = element.get("data-props")
            if not isinstance(props_text, str):
                continue
            try:
                props = json.loads(props_text)
            except (ValueError, RecursionError):
                continue
            if not isinstance(props, dict):
                continue
            if isinstance(props.get("dailyPapers"), list):
                found = True
                items.extend(props["dailyPapers"])
                if isinstance(props.get("dateString"), str) and _DATE.fullmatch(
                    props["dateString"]
                ):
                    day = props["dateString"]
            elif isinstance(props.get("paper"), dict):  # A single paper's page.
                found = True
                items.append(props)
        if not found:
            raise IngestError("Daily Papers page: no SVELTE_HYDRATER element with paper data")
        return items, day

    def _record(self, item: Any, day: str | None) -> PaperRecord:
        item = _dict(item)
        paper = _dict(item.get("paper"))
        arxiv_id, version = _str(paper.get("id")).strip(), 1
        if versioned := ARXIV_ID.fullmatch(arxiv_id):  # Links name no version: the latest.
            arxiv_id, version = versioned.group("id"), int(versioned.group("version") or 1)
        abs_url, pdf_url = arxiv_links(arxiv_id)
        daily_at = item.get("publishedAt") or paper.get("submittedOnDailyAt")
        return PaperRecord(
            arxiv_id=arxiv_id,
            title=source_text(_str(paper.get("title")) or _str(item.get("title"))),
            abstract=source_text(_str(paper.get("summary")) or _str(item.get("summary"))),
            version=min(version, 999),
            authors=_author_names(paper.get("authors")),
            published_at=to_utc(paper.get("publishedAt")),
            announced_on=utc_day(daily_at) or utc_day(day),
            abs_url=abs_url,
            pdf_url=pdf_url,
            hf_url=HF_PAPER_URL.format(id=arxiv_id),
            code_url=_http_url(paper.get("githubRepo")),
            project_url=_http_url(paper.get("projectPage")),
            thumbnail_url=thumbnail_url(item.get("thumbnail")),
            organization=_organization(item.get("organization"), paper.get("organization")),
            upvotes=_count(paper.get("upvotes")),
            num_comments=_count(item.get("numComments")),
            withdrawn=bool(paper.get("withdrawnAt")),
        )
