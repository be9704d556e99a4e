"""Suppression: the addresses no mail goes to, after bounces, complaints or staff's say.

A suppressed subscriber's status is BOUNCED; only staff lift it (the admin's action).
"""

from __future__ import annotations

from django.db.models import F, QuerySet

from .addresses import normalise_email
from .models import Subscriber

# Permanent failures in a row after which an address is suppressed.
SUPPRESS_AFTER_FAILURES = 3


def subscribers_record_permanent_failure(reasons: dict[int, str]) -> None:
    """Counts one more permanent failure for each subscriber; enough in a row suppress."""
    Subscriber.objects.filter(pk__in=list(reasons)).update(failure_count=F("failure_count") + 1)
    reached = Subscriber.objects.filter(
        pk__in=list(reasons),
        failure_count__gte=SUPPRESS_AFTER_FAILURES,
        status=Subscriber.Status.ACTIVE,
    )
    for pk in reached.values_list("pk", flat=True):
        reason = f"{SUPPRESS_AFTER_FAILURES} permanent failures, last: {reasons[pk]}"
        Subscriber.objects.filter(pk=pk).update(
            status=Subscriber.Status.BOUNCED, suppressed_reason=reason[:300]
        )


def subscribers_clear_failures(subscriber_ids: list[int]) -> None:
    """A delivered digest ends a run of permanent failures."""
    if subscriber_ids:
        Subscriber.objects.filter(pk__in=subscriber_ids).update(failure_count=0)


def subscriber_suppress(email: str, reason: str) -> int:
    """Stops all mail to an address; the first reason given is the one kept."""
    return subscribers_suppress(
        Subscriber.objects.filter(email__iexact=normalise_email(email)), reason
    )


def subscribers_suppress(subscribers: QuerySet[Subscriber], reason: str) -> int:
    """Stops all mail to these subscribers; those suppressed already keep their reason."""
    return subscribers.exclude(status=Subscriber.Status.BOUNCED).update(
        status=Subscriber.Status.BOUNCED, suppressed_reason=reason[:300]
    )


def subscribers_unsuppress(subscribers: QuerySet[Subscriber]) -> int:
    """Makes suppressed subscribers active again, their run of failures forgotten."""
    return subscribers.filter(status=Subscriber.Status.BOUNCED).update(
        status=Subscriber.Status.ACTIVE, suppressed_reason="", failure_count=0
    )
