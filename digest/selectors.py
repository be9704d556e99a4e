"""Reads the delivery and web code share: papers for ranking, profiles, samples."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, timedelta

from django.db.models import Max, Min

from subscriptions.models import Feedback, Interest, Subscriber

from .models import DeliveryItem, Paper, UpvoteSnapshot
from .ranking import semantic
from .ranking.types import PaperDoc, Profile

PAPER_DOC_FIELDS = (
    "id",
    "arxiv_id",
    "title_text",
    "abstract_text",
    "authors",
    "categories",
    "upvotes",
    "announced_on",
)


def window_days(subscriber: Subscriber, default: int) -> int:
    return 7 if subscriber.frequency == Subscriber.Frequency.WEEKLY else default


def paper_pool(until: date, days: int) -> list[PaperDoc]:
    """The papers announced in the `days` days up to `until`, ready for ranking."""
    since = until - timedelta(days=days - 1)
    rows = list(
        Paper.objects.filter(announced_on__gte=since, announced_on__lte=until).values_list(
            *PAPER_DOC_FIELDS
        )
    )
    growth = upvote_growth([r[0] for r in rows], since)
    return [_doc(row, growth.get(row[0], 0)) for row in rows]


def upvote_growth(paper_ids: list[int], since: date) -> dict[int, int]:
    """Upvotes each paper gained since `since`, from its snapshot history."""
    if not paper_ids:
        return {}
    stats = (
        UpvoteSnapshot.objects.filter(paper_id__in=paper_ids, taken_at__date__gte=since)
        .values("paper_id")
        .annotate(low=Min("upvotes"), high=Max("upvotes"))
    )
    return {s["paper_id"]: s["high"] - s["low"] for s in stats}


def _doc(row: tuple, growth: int = 0) -> PaperDoc:
    pk, arxiv_id, title, abstract, authors, categories, upvotes, announced_on = row
    return PaperDoc(
        id=pk,
        arxiv_id=arxiv_id,
        title=title,
        abstract=abstract,
        authors=tuple(authors or ()),
        categories=tuple(categories or ()),
        upvotes=upvotes,
        upvote_growth=growth,
        announced_on=announced_on,
    )


def profiles_for(subscribers: Iterable[Subscriber], *, exclude_delivery_ids=()) -> list[Profile]:
    """One ranking profile per subscriber: interests, papers already sent, feedback.

    Three queries whatever the number of subscribers.
    """
    subscribers = list(subscribers)
    ids = [s.pk for s in subscribers]
    interests = {i.subscriber_id: i for i in Interest.objects.filter(subscriber_id__in=ids)}
    sent: dict[int, set[int]] = defaultdict(set)
    items = DeliveryItem.objects.filter(delivery__subscriber_id__in=ids).exclude(
        delivery_id__in=list(exclude_delivery_ids)
    )
    for subscriber_id, paper_id in items.values_list("delivery__subscriber_id", "paper_id"):
        sent[subscriber_id].add(paper_id)
    liked: dict[int, list[PaperDoc]] = defaultdict(list)
    disliked: dict[int, list[PaperDoc]] = defaultdict(list)
    feedback = Feedback.objects.filter(subscriber_id__in=ids).values_list(
        "subscriber_id", "signal", *(f"paper__{f}" for f in PAPER_DOC_FIELDS)
    )
    for subscriber_id, signal, *paper in feedback:
        (liked if signal > 0 else disliked)[subscriber_id].append(_doc(tuple(paper)))
    return [
        profile_from(s, interests.get(s.pk), sent[s.pk], liked[s.pk], disliked[s.pk])
        for s in subscribers
    ]


def profile_from(
    subscriber: Subscriber,
    interest: Interest | None,
    already_sent: Iterable[int] = (),
    liked: Iterable[PaperDoc] = (),
    disliked: Iterable[PaperDoc] = (),
) -> Profile:
    return Profile(
        subscriber_id=subscriber.pk,
        categories=tuple(interest.categories) if interest else (),
        keywords=tuple(interest.keywords) if interest else (),
        authors=tuple(interest.authors) if interest else (),
        description=interest.description if interest else "",
        description_vector=(
            semantic.stored_vector(interest.description_vector, interest.description_model)
            if interest
            else None
        ),
        limit=subscriber.paper_limit,
        already_sent=frozenset(already_sent),
        liked=tuple(liked),
        disliked=tuple(disliked),
    )


def top_papers(limit: int = 5) -> list[dict]:
    """A sample of the newest listings, most upvoted first, for the landing page."""
    latest = Paper.objects.aggregate(day=Max("announced_on"))["day"]
    if latest is None:
        return []
    papers = Paper.objects.filter(announced_on__gte=latest - timedelta(days=2)).order_by(
        "-upvotes", "-announced_on", "arxiv_id"
    )[:limit]
    return [
        {
            "arxiv_id": p.arxiv_id,
            "title": p.title_text,
            "authors": list(p.authors),
            "abs_url": p.get_absolute_url(),
            "upvotes": p.upvotes,
            "categories": list(p.categories),
        }
        for p in papers
    ]
