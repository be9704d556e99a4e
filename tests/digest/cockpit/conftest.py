"""Known data for the cockpit: one finished day and today, with counts chosen by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import time_machine

from digest.cockpit import stats
from digest.models import Delivery, FetchRun, Source, UpvoteSnapshot
from subscriptions.models import Feedback, Subscriber
from tests.factories import make_paper, make_subscriber

# A Wednesday; "yesterday" is Tuesday 24 November 2026.
TODAY = date(2026, 11, 25)
YESTERDAY = date(2026, 11, 24)
NOON_TODAY = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
NOON_YESTERDAY = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def at(moment: datetime):
    return time_machine.travel(moment, tick=False)


def deliveries(day: date, subscribers: list[Subscriber], statuses: list[str]) -> None:
    Delivery.objects.bulk_create(
        Delivery(subscriber=s, digest_date=day, status=status)
        for s, status in zip(subscribers, statuses, strict=True)
    )


@pytest.fixture
def known_days(db):
    """Yesterday: 3 sign-ups (2 confirmed), 1 unsubscribe, digests 4 sent / 1 empty /
    1 failed, 'arXiv cs.AI' brought 30 + 5 new papers, 'HF daily' 7, feedback 2 more /
    1 fewer, 1 bounce. Today: 1 sign-up, 2 digests sent, 4 new papers from 'arXiv cs.AI'."""
    Source.objects.all().delete()
    arxiv = Source.objects.create(name="arXiv cs.AI", kind="arxiv-rss", url="https://a.test/1")
    hf = Source.objects.create(name="HF daily", kind="hf-daily", url="https://h.test/1")
    with at(NOON_YESTERDAY):
        # Unconfirmed unless set below: the factory confirms active subscribers.
        people = [make_subscriber(f"p{n}@example.org", confirmed_at=None) for n in range(3)]
        Subscriber.objects.filter(pk__in=[people[0].pk, people[1].pk]).update(
            confirmed_at=NOON_YESTERDAY
        )
        Subscriber.objects.filter(pk=people[2].pk).update(
            status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=NOON_YESTERDAY
        )
        FetchRun.objects.create(source=arxiv, kind=arxiv.kind, url=arxiv.url, new_count=30)
        FetchRun.objects.create(source=arxiv, kind=arxiv.kind, url=arxiv.url, new_count=5)
        FetchRun.objects.create(source=hf, kind=hf.kind, url=hf.url, new_count=7)
        paper = make_paper("Known paper", announced_on=YESTERDAY, upvotes=9)
        UpvoteSnapshot.objects.create(paper=paper, upvotes=2)
        for person, signal in zip(people, (1, 1, -1), strict=True):
            Feedback.objects.create(subscriber=person, paper=paper, signal=signal)
    with at(datetime(2026, 1, 1, tzinfo=UTC)):
        old = [make_subscriber(f"old{n}@example.org", confirmed_at=None) for n in range(6)]
    deliveries(YESTERDAY, old, ["sent"] * 4 + ["empty", "failed"])
    with at(NOON_TODAY):
        make_subscriber("today@example.org", confirmed_at=None)
        FetchRun.objects.create(source=arxiv, kind=arxiv.kind, url=arxiv.url, new_count=4)
        UpvoteSnapshot.objects.create(paper=paper, upvotes=9)
    deliveries(TODAY, old[:2], ["sent", "sent"])
    stats.counter_add(stats.BOUNCED, day=YESTERDAY)
    return {"arxiv": arxiv, "hf": hf, "paper": paper}
