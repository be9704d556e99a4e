"""Which papers each subscriber gets: their personal ranking, or today's trending papers.

A subscriber who has told us nothing yet still signed up for "trending papers in your
inbox": an empty profile gets the most upvoted and fastest-rising new papers.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence

from .ranker import Ranker
from .types import PaperDoc, Pick, Profile

# A worker sends a day's digests in many chunks over the same pool of papers: the text
# model is fitted once per pool and process, not once per chunk (a fit of 2,000 papers
# costs more than ranking 500 subscribers against them). The key is the pool itself, so
# any change to a paper (new upvotes, a replaced abstract) makes a new fit.
_FITTED: OrderedDict[tuple[PaperDoc, ...], Ranker] = OrderedDict()
_FITTED_MAX = 4
_FITTED_LOCK = threading.Lock()


def ranker_for(papers: Sequence[PaperDoc]) -> Ranker:
    key = tuple(papers)
    with _FITTED_LOCK:
        ranker = _FITTED.get(key)
        if ranker is not None:
            _FITTED.move_to_end(key)
            return ranker
    ranker = Ranker.fit(key)
    with _FITTED_LOCK:
        _FITTED[key] = ranker
        while len(_FITTED) > _FITTED_MAX:
            _FITTED.popitem(last=False)
    return ranker


def is_empty(profile: Profile) -> bool:
    return not (
        profile.categories
        or profile.keywords
        or profile.authors
        or profile.description.strip()
        or profile.liked
    )


def trending(papers: Sequence[PaperDoc], profile: Profile) -> list[Pick]:
    fresh = [p for p in papers if p.id not in profile.already_sent]
    fresh.sort(
        key=lambda p: (p.upvote_growth, p.upvotes, p.announced_on or 0, p.arxiv_id), reverse=True
    )
    picks = []
    for paper in fresh[: profile.limit]:
        reason = f"trending · {paper.upvotes} upvotes" if paper.upvotes else "new today"
        if paper.categories:
            reason += f" · {paper.categories[0]}"
        score = float(paper.upvotes + paper.upvote_growth)
        picks.append(Pick(paper.id, score, reason))
    return picks


def pick(
    papers: Sequence[PaperDoc], profiles: Sequence[Profile], *, floor: float | None = None
) -> dict[int, list[Pick]]:
    """Each subscriber's picks (trending ones for an empty profile); `floor`, when given,
    replaces the relevance a pick needs (see Ranker.rank)."""
    personal = [p for p in profiles if not is_empty(p)]
    result = ranker_for(papers).rank(personal, floor=floor) if personal else {}
    for profile in profiles:
        if is_empty(profile):
            result[profile.subscriber_id] = trending(papers, profile)
    return result


def prepare(papers: Sequence[PaperDoc]) -> int:
    """Fits the pool and encodes its vocabulary's terms ahead of the day's digests.

    Run after ingestion: a vocabulary seen for the first time costs seconds to encode,
    better spent by the ingesting worker than by the first delivery chunk.
    """
    if not papers:
        return 0
    ranker = ranker_for(papers)
    count = ranker.text.prepare_nearest_terms()
    ranker.learner_features()  # the papers as the learners read them, into the term store
    return count
