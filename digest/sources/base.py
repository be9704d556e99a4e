"""What every ingestion source shares: the record it yields and the errors it raises."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # http.py imports this module's IngestError
    from .http import Response

ARXIV_ID = re.compile(
    r"(?P<id>\d{4}\.\d{4,5}|[a-z][a-z\-]*(?:\.[A-Z]{2})?/\d{7})(?:v(?P<version>\d+))?",
)


class IngestError(Exception):
    """A pull that could not be used. `permanent` says whether retrying could help."""

    def __init__(
        self, message: str, *, permanent: bool = True, http_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.http_status = http_status


@dataclass
class PaperRecord:
    """One paper as one source listed it, already cleaned; timestamps in UTC."""

    arxiv_id: str
    title: str
    abstract: str = ""
    version: int = 1
    authors: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    announce_type: str = ""
    published_at: datetime | None = None
    updated_at: datetime | None = None
    announced_on: date | None = None
    abs_url: str = ""
    pdf_url: str = ""
    hf_url: str = ""
    code_url: str = ""
    project_url: str = ""
    thumbnail_url: str = ""
    organization: str = ""
    upvotes: int | None = None
    num_comments: int | None = None
    comment: str = ""
    doi: str = ""
    journal_ref: str = ""
    # The authors withdrew it (Daily Papers' withdrawnAt, or arXiv's notice as abstract or
    # comment): never added, and taken out of future digests if held.
    withdrawn: bool = False


class Listing(list[PaperRecord]):
    """The records `parse()` read from one body, and what was wrong with the body short
    of making it unusable (`problems`, one line each: a feed cut off mid-entry). A body
    with problems is fetched again in full by the next pull."""

    def __init__(self, records: Iterable[PaperRecord] = (), problems: Iterable[str] = ()):
        super().__init__(records)
        self.problems = list(problems)


def split_arxiv_id(text: str) -> tuple[str, int]:
    """'oai:arXiv.org:2508.13167v2' -> ('2508.13167', 2); raises IngestError if none."""
    match = ARXIV_ID.search(text or "")
    if not match:
        raise IngestError(f"no arXiv id in {text!r}")
    return match.group("id"), int(match.group("version") or 1)


def bare_arxiv_id(text: str) -> str | None:
    """The bare id of a text that is exactly one arXiv id (optionally versioned), else None."""
    match = ARXIV_ID.fullmatch((text or "").strip())
    return match.group("id") if match else None


def possible_arxiv_id(arxiv_id: str, today: date) -> bool:
    """Whether an arXiv paper can have this id: its year and month exist, from the scheme's
    start (April 2007; 1991 to 2007 for "archive/YYMMNNN") to next month, with as many digits
    as that month's numbers have (five from 2015)."""
    if "/" in arxiv_id:
        yymm = arxiv_id.split("/", 1)[1][:4]
        year, month = int(yymm[:2]), int(yymm[2:])
        year += 1900 if year >= 91 else 2000
        return 1 <= month <= 12 and (1991, 8) <= (year, month) <= (2007, 3)
    yymm, number = arxiv_id.split(".")
    year, month = 2000 + int(yymm[:2]), int(yymm[2:])
    latest = (today.year, today.month + 1) if today.month < 12 else (today.year + 1, 1)
    if not 1 <= month <= 12 or not (2007, 4) <= (year, month) <= latest:
        return False
    return len(number) == (5 if year >= 2015 else 4)


@dataclass
class Fetched:
    """What `fetch()` brought back: one body per page, or none when the listing is unchanged."""

    bodies: list[bytes]
    http_status: int | None = None
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False
    # What the fetch could not bring, short of failing: one line each (see Listing).
    problems: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, response: Response) -> Fetched:
        """One page as the HTTP client got it (none when the server said 304)."""
        return cls(
            bodies=[] if response.not_modified else [response.content],
            http_status=response.status,
            etag=response.etag,
            last_modified=response.last_modified,
            not_modified=response.not_modified,
        )


class SourceAdapter:
    """One kind of listing. A new kind copies the closest adapter and fills in these hooks.

    `fetch()` holds the only network code (through `digest.sources.http`); `parse()` is pure:
    bytes in, cleaned `PaperRecord`s out, `IngestError` for anything unusable.
    """

    kind: str = ""

    def fetch(self, url: str, *, etag: str = "", last_modified: str = "") -> Fetched:
        """Download the listing at `url`, conditionally when etag/last_modified are known."""
        raise NotImplementedError

    def parse(self, raw: bytes) -> Listing:
        """Turn one downloaded body into records; raise IngestError if it is unusable."""
        raise NotImplementedError
