"""Suppression: the addresses no mail goes to, after bounces, complaints or staff's say.

A suppressed subscriber's status is BOUNCED, whatever they wanted before; only staff
lift it (the admin's action), and then each goes back to what they last agreed to.
Nothing a subscriber holds (an old mail's links, a new sign-up) lifts it.
"""

from __future__ import annotations

from django.db import transaction
from django.db.models import Case, Count, F, QuerySet, Value, When

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


def subscribers_unsuppress(subscribers: QuerySet[Subscriber]) -> dict[str, int]:
    """Lifts the suppression of these subscribers, their run of failures forgotten; only
    staff do this (the admin's action). Each goes back to what they last agreed to: an
    unsubscribe made before or during the suppression stands, an address never
    confirmed waits for its confirmation again, the others get their digest again.
    Returns how many went back to each status."""
    suppressed = subscribers.filter(status=Subscriber.Status.BOUNCED)
    back_to = Case(
        When(unsubscribed_at__isnull=False, then=Value(Subscriber.Status.UNSUBSCRIBED)),
        When(confirmed_at__isnull=True, then=Value(Subscriber.Status.PENDING)),
        default=Value(Subscriber.Status.ACTIVE),
    )
    with transaction.atomic():
        ids = list(suppressed.select_for_update().values_list("pk", flat=True))
        Subscriber.objects.filter(pk__in=ids, status=Subscriber.Status.BOUNCED).update(
            status=back_to, suppressed_reason="", failure_count=0
        )
        counts = (
            Subscriber.objects.filter(pk__in=ids)
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        return dict(counts)
