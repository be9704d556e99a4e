"""Reads for the subscriber's own pages: their feedback and everything we hold on them."""

from __future__ import annotations

import base64
import re
from typing import Any

from digest.models import Delivery

from . import categories as category_names
from .models import Feedback, Interest, Learner, Subscriber

LEARNER_ABOUT = (
    "A small model Paperboy fitted on your answers (“more like this”, “not for me” and the "
    "papers you gave as examples). It ranks each day's papers for you, next to your "
    "interests. Refitted when your answers change; deleted with your data."
)


def feedback_list(subscriber: Subscriber, limit: int | None = None) -> list[dict[str, Any]]:
    """Newest first; `limit` keeps the preferences page small for keen clickers."""
    rows = Feedback.objects.filter(subscriber=subscriber).select_related("paper")[:limit]
    return [
        {
            "arxiv_id": f.paper.arxiv_id,
            "title": f.paper.title_text,
            "abs_url": f.paper.get_absolute_url(),
            "signal": f.signal,
            "label": f.get_signal_display(),
            "created_at": f.created_at,
        }
        for f in rows
    ]


def topics_not_held(
    subscriber: Subscriber, categories: list[str], keywords: list[str]
) -> dict[str, Any]:
    """The topics typed on a sign-up form that the subscriber's own do not hold, as a mail
    tells of them: category labels (from our own list), and how many keywords. The keywords
    themselves are not written: anyone can type on the form, and a mail to someone else's
    address must carry none of a stranger's text."""
    interest = Interest.objects.filter(subscriber=subscriber).first()
    held_categories = set(interest.categories) if interest else set()
    held_keywords = {k.lower() for k in interest.keywords} if interest else set()
    return {
        "categories": [category_names.label(c) for c in categories if c not in held_categories],
        "keywords": sum(1 for k in keywords if k.lower() not in held_keywords),
    }


# What the admin's Suppress stored until it stopped naming the staff account that pressed it.
_STAFF_SUPPRESSION = re.compile(r"^suppressed by .+ on (\d{4}-\d{2}-\d{2})$")


def _reason_as_exported(reason: str) -> str:
    """The suppression's reason without the staff account an older row names: the export
    goes to the subscriber, and an account's name is half of a way into the admin."""
    return _STAFF_SUPPRESSION.sub(r"suppressed by staff on \1", reason)


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def subscriber_export(subscriber: Subscriber) -> dict[str, Any]:
    """Everything Paperboy stores about one subscriber, as plain JSON-ready data."""
    interest = Interest.objects.filter(subscriber=subscriber).first()
    deliveries = (
        Delivery.objects.filter(subscriber=subscriber)
        .prefetch_related("items__paper")
        .order_by("digest_date")
    )
    return {
        "subscriber": {
            "email": subscriber.email,
            "status": subscriber.status,
            "time_zone": subscriber.time_zone,
            "send_hour": subscriber.send_hour,
            "frequency": subscriber.frequency,
            "weekday": subscriber.weekday,
            "paper_limit": subscriber.paper_limit,
            "empty_day": subscriber.empty_day,
            "created_at": _iso(subscriber.created_at),
            "confirmed_at": _iso(subscriber.confirmed_at),
            "unsubscribed_at": _iso(subscriber.unsubscribed_at),
            "failure_count": subscriber.failure_count,
            "suppressed_reason": _reason_as_exported(subscriber.suppressed_reason),
        },
        "interests": {
            "categories": list(interest.categories) if interest else [],
            "keywords": list(interest.keywords) if interest else [],
            "authors": list(interest.authors) if interest else [],
            "description": interest.description if interest else "",
            "dropped_terms": list(interest.dropped_terms) if interest else [],
            "updated_at": _iso(interest.updated_at) if interest else None,
        },
        "feedback": [
            {
                "arxiv_id": f["arxiv_id"],
                "title": f["title"],
                "signal": f["signal"],
                "meaning": f["label"],
                "created_at": _iso(f["created_at"]),
            }
            for f in feedback_list(subscriber)
        ],
        "learner": learner_export(subscriber),
        "deliveries": [
            {
                "digest_date": d.digest_date.isoformat(),
                "status": d.status,
                "sent_at": _iso(d.sent_at),
                "subject": d.subject,
                "papers": [
                    {"arxiv_id": i.paper.arxiv_id, "rank": i.rank, "reason": i.reason}
                    for i in d.items.all()
                ],
            }
            for d in deliveries
        ],
    }


def learner_export(subscriber: Subscriber) -> dict[str, Any] | None:
    """The subscriber's learner in words and as stored; None before their first answer.

    The weights are the stored bytes, base64-encoded, whatever their layout: what we hold
    is exported, and the model id names what they belong to."""
    learner = Learner.objects.filter(subscriber=subscriber).first()
    if learner is None:
        return None
    weights = bytes(learner.weights)
    return {
        "about": LEARNER_ABOUT,
        "model": learner.model,
        "fitted_at": _iso(learner.fitted_at),
        "answers_seen": {"liked": learner.liked, "disliked": learner.disliked},
        "signature": learner.signature,
        "weights": {
            "encoding": "base64",
            "format": "the stored bytes of the learner's weights, as they are in our database: "
            "for the model above, 385 little-endian float16 (the direction over the paper's "
            "sentence-encoder vector, then the bias), then pairs of (uint32 hashed word or "
            "two-word phrase, float16 weight) for the heaviest words",
            "size_bytes": len(weights),
            "data": base64.b64encode(weights).decode("ascii"),
        },
    }


def chosen_topics(subscriber: Subscriber) -> dict[str, list[str]]:
    """The interests given so far (at sign-up, say), for the pages that repeat them."""
    interest = Interest.objects.filter(subscriber=subscriber).first()
    if interest is None:
        return {"categories": [], "keywords": [], "authors": []}
    return {
        "categories": list(interest.categories or []),
        "keywords": list(interest.keywords or []),
        "authors": list(interest.authors or []),
    }
