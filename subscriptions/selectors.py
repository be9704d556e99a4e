"""Reads for the subscriber's own pages: their feedback and everything we hold on them."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings

from digest.models import Delivery

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


def feedback_signal(subscriber: Subscriber, arxiv_id: str) -> int | None:
    """The subscriber's answer on one paper (1 more, -1 fewer), None when there is none."""
    answers = Feedback.objects.filter(subscriber=subscriber, paper__arxiv_id=arxiv_id)
    return answers.values_list("signal", flat=True).first()


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
            "suppressed_reason": subscriber.suppressed_reason,
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


# The send tick runs every 5 minutes (digest.delivery.schedule): a digest due from a
# moment goes out at the tick that follows it.
TICK_MINUTES = 5


def _next_tick(moment: datetime) -> datetime:
    tick = moment.replace(second=0, microsecond=0)
    if tick < moment:
        tick += timedelta(minutes=1)
    return tick + timedelta(minutes=-tick.minute % TICK_MINUTES)


def first_digest(subscriber: Subscriber, now: datetime) -> dict[str, Any]:
    """When the subscriber's first digest goes out, in their time zone, as the planner
    decides it (digest.delivery.planning.due_digests): on the first day (their weekday,
    if weekly) whose send hour has come, once FIRST_DIGEST_DELAY minutes have passed since
    they confirmed, and that has no digest yet (someone coming back the day theirs was
    sent gets none again that day). `soon` when the grace, not the send hour, decides."""
    tz = subscriber.tz
    confirmed = subscriber.confirmed_at or now
    not_before = _next_tick(max(now, confirmed + timedelta(minutes=settings.FIRST_DIGEST_DELAY)))
    today = now.astimezone(tz).date()
    weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
    planned = _days_planned(subscriber, today)
    for days in range(8):
        day = today + timedelta(days=days)
        if (weekly and day.weekday() != subscriber.weekday) or day in planned:
            continue
        send_time = datetime.combine(day, time(subscriber.send_hour), tzinfo=tz)
        # Compared in UTC: datetimes sharing a tzinfo compare by wall clock alone.
        at = max(send_time.astimezone(UTC), not_before.astimezone(UTC)).astimezone(tz)
        if at.date() != day:
            continue  # the grace ends after that day: its digest is not sent
        label = {0: "today", 1: "tomorrow"}.get(days) or f"{at:%A}"
        # Formatted here, in their zone: a template's date filter would show server time.
        date_label = f"{at:%A} {at.day} {at:%B}"
        soon = at != send_time
        return {"at": at, "soon": soon, "day": label, "date": date_label, "time": f"{at:%H:%M}"}
    raise AssertionError("a weekday comes round within a week")  # pragma: no cover


def _days_planned(subscriber: Subscriber, since: date) -> set[date]:
    """The days from `since` on that have a digest already (sent, empty or on its way); a
    cancelled one does not count, as the planner sends that day's digest after all."""
    rows = Delivery.objects.filter(subscriber=subscriber, digest_date__gte=since).exclude(
        status=Delivery.Status.CANCELLED
    )
    return set(rows.values_list("digest_date", flat=True))


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
