"""Reads the delivery and web code share: papers for ranking, profiles, samples."""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from django.db.models import Count, Max, Min

from subscriptions.learners import stored_weights
from subscriptions.models import Feedback, Interest, Learner, Subscriber

from .models import Delivery, DeliveryItem, Paper, UpvoteSnapshot
from .ranking import semantic
from .ranking.types import LearnerWeights, PaperDoc, Profile

log = logging.getLogger(__name__)

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


WEEK = 7


def window_days(subscriber: Subscriber, default: int) -> int:
    return WEEK if subscriber.frequency == Subscriber.Frequency.WEEKLY else default


def digest_since(subscribers: Iterable[Subscriber], today: date, default: int) -> dict[int, date]:
    """The first announcement day each subscriber's next digest draws from. One query.

    Papers carry arXiv's announcement day, the same for every reader, so a digest covers
    what was announced since the reader's previous digest was planned (`today` and that
    day are UTC dates: where the reader lives plays no part). That day itself is
    included: papers of it may have arrived after the previous digest, and papers
    already sent are never sent again. The first digest covers `window_days`; a later
    one reaches back to the previous one, but never further than a week and one day (a
    long pause), whatever the reader's frequency now: a weekly reader who turns daily on
    Sunday has waited since their Tuesday digest, and a daily window would drop the
    papers of the days between.
    """
    subscribers = list(subscribers)
    # Older digests cannot move the answer: this bounds the index range a year of
    # deliveries would otherwise make each chunk read.
    reach = max(default, WEEK)
    horizon = today - timedelta(days=reach + 1)
    previous = dict(
        Delivery.objects.filter(
            subscriber_id__in=[s.pk for s in subscribers],
            digest_date__gte=horizon,
            status__in=[Delivery.Status.SENT, Delivery.Status.EMPTY],
        )
        .values("subscriber_id")
        .annotate(last=Max("created_at"))
        .values_list("subscriber_id", "last")
    )
    since = {}
    for s in subscribers:
        days = window_days(s, default)
        last = previous.get(s.pk)
        if last is None:
            since[s.pk] = today - timedelta(days=days - 1)
        else:
            since[s.pk] = max(last.astimezone(UTC).date(), today - timedelta(days=reach))
    return since


def paper_pool(since: date) -> list[PaperDoc]:
    """The papers announced on `since` or later, ready for ranking.

    A paper whose stored fields cannot be ranked (`paper_problem`) is left out and
    logged, never allowed to stop everyone's digest; staff see why on its admin page.
    A paper staff retracted (digest.ingest.retraction) is left out too.
    """
    offered = Paper.objects.filter(announced_on__gte=since, retracted_at__isnull=True)
    rows = _rankable(offered.values_list(*PAPER_DOC_FIELDS))
    growth = upvote_growth([r[0] for r in rows], since)
    return [_doc(row, growth.get(row[0], 0)) for row in rows]


def paper_problem(authors: object, categories: object) -> str:
    """Why a paper cannot be ranked, or "": an admin edit can leave any JSON in its
    lists (a number, an object), which ingestion never writes."""
    for name, value in (("authors", authors), ("categories", categories)):
        if value is not None and not (
            isinstance(value, list) and all(isinstance(v, str) for v in value)
        ):
            return f"{name} must be a list of text, not {json.dumps(value)[:80]}"
    return ""


def _rankable(rows: Iterable[tuple]) -> list[tuple]:
    """The rows of PAPER_DOC_FIELDS that can be ranked; the others are logged."""
    kept = []
    for row in rows:
        problem = paper_problem(row[4], row[5])
        if problem:
            log.warning("paper %s is left out of every digest: %s", row[1], problem)
        else:
            kept.append(row)
    return kept


@dataclass(frozen=True)
class PaperUse:
    """Why a paper is part of subscribers' records: the digests it was in, the answers."""

    arxiv_id: str
    digests: int
    answers: int


def papers_in_use(paper_ids: Iterable[int]) -> list[PaperUse]:
    """Those of these papers sent in a digest or answered by a subscriber (which the
    foreign keys keep from deletion), in arXiv id order. Two counting queries and one for
    the ids, however many papers or deliveries."""
    ids = list(paper_ids)
    digests = _counts(DeliveryItem.objects.filter(paper_id__in=ids))
    answers = _counts(Feedback.objects.filter(paper_id__in=ids))
    used = Paper.objects.filter(pk__in=set(digests) | set(answers)).order_by("arxiv_id")
    return [
        PaperUse(arxiv_id, digests.get(pk, 0), answers.get(pk, 0))
        for pk, arxiv_id in used.values_list("pk", "arxiv_id")
    ]


def _counts(rows) -> dict[int, int]:
    counted = rows.order_by().values("paper_id").annotate(n=Count("pk"))
    return dict(counted.values_list("paper_id", "n"))


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
    # The learners come with the interests, in the same query.
    interests = {
        i.subscriber_id: i
        for i in Interest.objects.filter(subscriber_id__in=ids).select_related(
            "subscriber__learner"
        )
    }
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
        if not paper_problem(paper[4], paper[5]):
            (liked if signal > 0 else disliked)[subscriber_id].append(_doc(tuple(paper)))
        # A paper the subscriber answered (from a digest, at sign-up, pasted) is not news.
        sent[subscriber_id].add(paper[0])
    learners = stored_weights(
        (sid, bytes(learner.weights), learner.model)
        for sid, interest in interests.items()
        if (learner := _learner_of(interest)) is not None
    )
    return [
        profile_from(
            s, interests.get(s.pk), sent[s.pk], liked[s.pk], disliked[s.pk], learners.get(s.pk)
        )
        for s in subscribers
    ]


def _learner_of(interest: Interest) -> Learner | None:
    try:
        return interest.subscriber.learner
    except Learner.DoesNotExist:
        return None


def profile_from(
    subscriber: Subscriber,
    interest: Interest | None,
    already_sent: Iterable[int] = (),
    liked: Iterable[PaperDoc] = (),
    disliked: Iterable[PaperDoc] = (),
    learner: LearnerWeights | None = None,
) -> Profile:
    return Profile(
        subscriber_id=subscriber.pk,
        categories=tuple(interest.categories) if interest else (),
        keywords=tuple(interest.keywords) if interest else (),
        authors=tuple(interest.authors) if interest else (),
        description=interest.description if interest else "",
        dropped_terms=tuple(interest.dropped_terms or ()) if interest else (),
        description_vector=(
            semantic.stored_vector(interest.description_vector, interest.description_model)
            if interest
            else None
        ),
        limit=subscriber.paper_limit,
        already_sent=frozenset(already_sent),
        liked=tuple(liked),
        disliked=tuple(disliked),
        learner=learner,
    )


def top_papers(limit: int = 5) -> list[dict]:
    """A sample of the newest listings, most upvoted first, for the landing page."""
    latest = Paper.objects.aggregate(day=Max("announced_on"))["day"]
    if latest is None:
        return []
    papers = Paper.objects.filter(
        announced_on__gte=latest - timedelta(days=2), retracted_at__isnull=True
    ).order_by("-upvotes", "-announced_on", "arxiv_id")[:limit]
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


def upvote_rises(
    paper_ids: list[int], as_of: datetime, live: dict[int, int] | None = None
) -> dict[int, tuple[int | None, int]]:
    """Each paper's upvotes at `as_of` (None: no snapshot; `live` counts win when given)
    and how many it gained in the day before: against the last count at least a day
    old, or the first count of the day when it is newer than that."""
    if not paper_ids:
        return {}
    day = timedelta(days=1)
    rows = (
        UpvoteSnapshot.objects.filter(
            paper_id__in=paper_ids, taken_at__gt=as_of - 2 * day, taken_at__lte=as_of
        )
        .order_by("paper_id", "taken_at", "pk")
        .values_list("paper_id", "taken_at", "upvotes")
    )
    history: dict[int, list[tuple[datetime, int]]] = {}
    for paper_id, taken_at, upvotes in rows:
        history.setdefault(paper_id, []).append((taken_at, upvotes))
    rises: dict[int, tuple[int | None, int]] = {}
    for paper_id in paper_ids:
        seen = history.get(paper_id, [])
        now = (live or {}).get(paper_id, seen[-1][1] if seen else None)
        older = [count for taken_at, count in seen if taken_at <= as_of - day]
        baseline = older[-1] if older else (seen[0][1] if seen else None)
        rise = now - baseline if now is not None and baseline is not None else 0
        rises[paper_id] = (now, max(rise, 0))
    return rises


def sent_deliveries(subscriber: Subscriber):
    """The subscriber's sent digests, newest first, each with its paper count."""
    return (
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT)
        .annotate(item_count=Count("items"))
        .order_by("-digest_date", "-pk")
    )
