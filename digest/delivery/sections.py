"""What a digest says about itself: why each paper is there, its sections, its subject.

The ranking explains each pick in one string (digest/ranking/reasons.py), parts joined
by " · ": "matches 'distillation', 'moe'", "by Geoffrey Hinton", "similar to your
description", "more like papers you liked" or "like 'X', which you liked", a category
("cs.CL"), "48 upvotes". Those strings are what a delivery stores, so the kind of
reason is read back from them here rather than carried beside them: deliveries sent
before this module existed get sections too, and the ranking keeps one output.
"""

from __future__ import annotations

import re
from collections import Counter
from enum import StrEnum
from functools import lru_cache
from typing import Any

SECTIONS_FROM = 8  # a digest with fewer papers reads best as one ranked list
SUBJECT_MAX = 70


class ReasonKind(StrEnum):
    AUTHORS = "authors"
    KEYWORDS = "keywords"
    LIKED = "liked"
    DESCRIPTION = "description"
    TRENDING = "trending"


# In this order: a paper by an author you follow is there for that first, whatever
# else it matches; trending (a category, upvotes) is what is left.
SECTION_TITLES = {
    ReasonKind.AUTHORS: "By authors you follow",
    ReasonKind.KEYWORDS: "Matching your keywords",
    ReasonKind.LIKED: "Like papers you liked",
    ReasonKind.DESCRIPTION: "Close to your description",
    ReasonKind.TRENDING: "Trending in your categories",
}

_QUOTED = re.compile(r"'([^']+)'")
_EITHER_QUOTED = re.compile(r"['“]([^'”]+)['”]")
# arXiv categories: cs.CL, math.AP, hep-th, astro-ph.GA (not "trending").
_CATEGORY = re.compile(r"^(?:[a-z]+(?:-[a-z]+)?\.[A-Za-z-]+|[a-z]+-[a-z]+)$")


def reason_parts(reason: str) -> list[str]:
    return [part.strip() for part in reason.split(" · ") if part.strip()]


_UPVOTES = re.compile(r"^(?:trending, )?\d+ upvotes?$")


@lru_cache(maxsize=20_000)  # subscribers with the same keywords share reason strings
def shown_reason(reason: str) -> str:
    """The reason as a card shows it: without the upvote count, which has its badge."""
    parts = [part for part in reason_parts(reason) if not _UPVOTES.match(part)]
    return curly_quotes(" · ".join(parts)) if parts else "trending on Daily Papers"


def curly_quotes(reason: str) -> str:
    """The reason's quoted terms in typographic quotes: “distillation”, as every page and
    mail shows them. Stored reasons keep the straight ones, which this module parses."""
    # They read better, and cost 3 bytes where HTML escapes ' into 5.
    return _QUOTED.sub(r"“\1”", reason)


@lru_cache(maxsize=20_000)
def reason_kind(reason: str) -> ReasonKind:
    parts = reason_parts(reason)
    for kind, test in (
        (ReasonKind.AUTHORS, lambda p: p.startswith("by ")),
        (ReasonKind.KEYWORDS, lambda p: p.startswith("matches ")),
        (ReasonKind.LIKED, lambda p: p.endswith("you liked") or "asked for more of" in p),
        (ReasonKind.DESCRIPTION, lambda p: "your description" in p),
    ):
        if any(test(part) for part in parts):
            return kind
    return ReasonKind.TRENDING


def interests(reasons: list[str]) -> list[str]:
    """What the reasons cite, most cited first: “distillation”, papers by X, cs.CL."""
    return [name for name, _ in interest_counts(reasons)]


def _unasked(parts: list[str]) -> bool:
    """A pick for a subscriber who named nothing (picking.trending): its category is the
    paper's, not an interest of theirs."""
    return any(part.startswith("trending") or part == "new today" for part in parts)


@lru_cache(maxsize=20_000)
def _cited(reason: str) -> tuple[str, ...]:
    cited: list[str] = []
    parts = reason_parts(reason)
    if _unasked(parts):
        return ()
    for part in parts:
        if part.startswith("matches "):
            cited.extend(f"“{term}”" for term in _EITHER_QUOTED.findall(part))
        elif part.startswith("by "):
            cited.extend(f"papers by {name.strip()}" for name in part[3:].split(","))
        elif _CATEGORY.match(part):
            cited.append(part)
        elif "your description" in part:
            cited.append("your description")
        elif part.endswith("you liked"):
            cited.append("papers you liked")
    return tuple(cited)


def interest_counts(reasons: list[str]) -> list[tuple[str, int]]:
    counts: Counter[str] = Counter()
    for reason in reasons:
        counts.update(_cited(reason))
    return counts.most_common()


_summaries: dict[tuple, dict[str, str]] = {}


def summary(titles: list[str], reasons: list[str]) -> dict[str, str]:
    """Subject, preheader and the why line of one digest, from one count of reasons.

    Kept per (best title, count, reasons): subscribers who follow the same keywords
    get the same picks and reasons, so most digests of a chunk repeat one."""
    key = (titles[0] if titles else "", len(titles), *reasons)
    known = _summaries.get(key)
    if known is None:
        counts = interest_counts(reasons)
        known = {
            "subject": subject_line(titles, reasons, counts=counts),
            "preheader": preheader(reasons, counts=counts),
            "why": why_line(reasons, counts=counts),
        }
        if len(_summaries) > 20_000:
            _summaries.clear()
        _summaries[key] = known
    return known


def why_line(reasons: list[str], limit: int = 3, counts=None) -> str:
    """One line on why these papers: 'Picked for “distillation”, “moe” and cs.CL.'"""
    top = [name for name, _ in (counts or interest_counts(reasons))][:limit]
    if not top:
        if reasons and all(_unasked(reason_parts(r)) for r in reasons):
            return "Today's trending papers: tell us what you follow and we pick for you."
        return ""
    listed = top[0] if len(top) == 1 else ", ".join(top[:-1]) + " and " + top[-1]
    return f"Picked for {listed}."


def sections(papers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The papers grouped by the kind of their reason, each group in rank order; one
    untitled group below SECTIONS_FROM papers or when every paper has the same kind."""
    if len(papers) < SECTIONS_FROM:
        return [{"kind": "", "title": "", "papers": papers}] if papers else []
    groups: dict[ReasonKind, list[dict[str, Any]]] = {kind: [] for kind in SECTION_TITLES}
    for paper in papers:
        groups[reason_kind(paper["reason"])].append(paper)
    filled = [(kind, group) for kind, group in groups.items() if group]
    if len(papers) < SECTIONS_FROM or len(filled) <= 1:
        return [{"kind": "", "title": "", "papers": papers}] if papers else []
    return [
        {"kind": str(kind), "title": SECTION_TITLES[kind], "papers": group}
        for kind, group in filled
    ]


def short_title(title: str) -> str:
    """A paper's name as people say it: the part before a colon when that part is short
    ("AdapterFusion: Non-Destructive Task Composition ..." -> "AdapterFusion")."""
    head, colon, _ = title.partition(":")
    if colon and 1 <= len(head.split()) <= 4:
        return head.strip()
    return title.strip()


# Longer than any word of a language written with spaces: what follows the last space
# in a cut is then text of a script written without them (Chinese, Japanese).
_LONGEST_WORD = 30


def cut_at_word(text: str, end: int) -> str:
    """`text[:end]`, back to the end of its last whole word, unless that would drop more
    than a word: a title in Chinese after one English word would lose all of it."""
    head = text[:end]
    words = head.rsplit(" ", 1)[0]
    return words if end - len(words) <= _LONGEST_WORD else head


def _cut_words(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut between words, with … if cut."""
    if len(text) <= limit:
        return text
    cut = cut_at_word(text, limit - 1).rstrip(" ,;:-–—")
    return cut + "…" if cut else ""


def _topic(counts: list[tuple[str, int]]) -> str:
    """The most cited keyword, bare ('distillation'), or ''."""
    for name, _ in counts:
        if name.startswith("“"):
            return name.strip("“”")
    return ""


def subject_line(
    titles: list[str], reasons: list[str], limit: int = SUBJECT_MAX, counts=None
) -> str:
    """`7 papers · "Born Again Networks" and 6 more on distillation`, in `limit`
    characters at most, never cut inside a word."""
    n = len(titles)
    if not n:
        return "No matching papers this time"
    count = f"{n} paper{'s' if n != 1 else ''}"
    name = short_title(titles[0])
    topic = _topic(counts if counts is not None else interest_counts(reasons))
    more = f" and {n - 1} more" if n > 1 else ""
    candidates = [
        f"{count} · “{name}”{more} on {topic}" if topic else "",
        f"{count} · “{name}”{more}",
        f"{count} on {topic} · “{name}”" if topic else "",
    ]
    for candidate in candidates:
        if candidate and len(candidate) <= limit:
            return candidate
    room = limit - len(f"{count} · “”{more}")
    clipped = _cut_words(name, room) if room > 10 else ""
    if clipped:
        return f"{count} · “{clipped}”{more}"
    return _cut_words(f"{count} on {topic}" if topic else f"{count} for you", limit)


def preheader(reasons: list[str], limit: int = 150, counts=None) -> str:
    """The line inbox lists show after the subject: the reasons, most cited first."""
    if not reasons:
        return "No new papers matched your interests this time."
    counts = counts if counts is not None else interest_counts(reasons)
    if not counts:
        return _cut_words(f"Picked for you: {reasons[0]}", limit)
    listed = ", ".join(f"{name} ({n})" if n > 1 else name for name, n in counts[:6])
    return _cut_words(f"Why: {listed}", limit)
