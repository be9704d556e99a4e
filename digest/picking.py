"""Which papers each subscriber gets: their personal ranking, or today's trending papers.

A subscriber who has told us nothing yet still signed up for "trending papers in your
inbox": an empty profile gets the most upvoted and fastest-rising new papers.
"""

from __future__ import annotations

from collections.abc import Sequence

from .ranking import PaperDoc, Pick, Profile, rank


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


def pick(papers: Sequence[PaperDoc], profiles: Sequence[Profile]) -> dict[int, list[Pick]]:
    personal = [p for p in profiles if not is_empty(p)]
    result = rank(papers, personal) if personal else {}
    for profile in profiles:
        if is_empty(profile):
            result[profile.subscriber_id] = trending(papers, profile)
    return result
