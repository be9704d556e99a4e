"""Builders for test data: papers and subscribers with only what a test cares about."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime

from django.utils import timezone

from digest.models import Delivery, DeliveryItem, Paper
from subscriptions.models import Feedback, Interest, Subscriber
from subscriptions.services import interest_save

_ids = itertools.count(1)

# The day the delivery tests plan for (fixture `on_monday`): factories announce papers
# "today", so those tests travel here instead of depending on the date they run.
MONDAY_9_UTC = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
# When the factory's subscribers confirmed: long before any day a test travels to, so a
# subscriber made now or in the past is past the first digest's grace (FIRST_DIGEST_DELAY)
# and due at their hour. A test about that grace gives its own `confirmed_at`.
CONFIRMED_LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)


def make_paper(
    title: str,
    abstract: str = "",
    *,
    categories=("cs.LG",),
    upvotes=0,
    announced_on: date | None = None,
    authors=("Ada Lovelace",),
    **fields,
) -> Paper:
    """A paper announced today (unless said otherwise); any other field may be given."""
    abstract = abstract or f"We study {title.lower()}."
    values = {
        "arxiv_id": f"2511.{next(_ids):05d}",
        "title": title,
        "title_text": title,
        "abstract": abstract,
        "abstract_text": abstract,
        "authors": list(authors),
        "categories": list(categories),
        "primary_category": categories[0] if categories else "",
        "upvotes": upvotes,
        "announced_on": announced_on or timezone.localdate(),
    }
    return Paper.objects.create(**{**values, **fields})


def make_subscriber(
    email: str,
    *,
    status: str = Subscriber.Status.ACTIVE,
    categories=(),
    keywords=(),
    authors=(),
    description="",
    **fields,
) -> Subscriber:
    """A subscriber with these interests; confirmed (long ago) unless still pending."""
    if status != Subscriber.Status.PENDING:
        fields.setdefault("confirmed_at", CONFIRMED_LONG_AGO)
    subscriber = Subscriber.objects.create(email=email, status=status, **fields)
    interest = Interest(
        subscriber=subscriber,
        categories=list(categories),
        keywords=list(keywords),
        authors=list(authors),
        description=description,
    )
    interest_save(interest)  # as the preferences page saves it: the description is encoded
    return subscriber


def give_feedback(subscriber: Subscriber, paper: Paper, signal: int = 1) -> Feedback:
    return Feedback.objects.create(subscriber=subscriber, paper=paper, signal=signal)


def make_sent_digest() -> Delivery:
    """Alice's digest, sent just now with one paper."""
    alice = make_subscriber("alice@example.org", categories=["cs.CL"])
    row = Delivery.objects.create(
        subscriber=alice,
        digest_date=date(2026, 12, 1),
        status=Delivery.Status.SENT,
        sent_at=timezone.now(),
    )
    paper = make_paper("Parsing with transformers", arxiv_id="2501.00001")
    DeliveryItem.objects.create(delivery=row, paper=paper, rank=1, reason="cs.CL")
    return row
