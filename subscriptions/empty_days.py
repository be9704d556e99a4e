"""Days decided empty, decided again when what the subscriber wants changes that day."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.utils import timezone

from digest.models import Delivery


def reopen_empty_digests(subscriber_ids: Iterable[int]) -> int:
    """Today's digests that were decided empty (nothing was sent) are planned again by the
    next send tick, with the interests, answers and learner as they now are: someone who
    confirms before choosing topics, or whose first answers come after their hour, gets
    that day's digest. A digest or a note already sent stays the only one of the day.
    Returns how many were reopened."""
    since = timezone.now().date() - timedelta(days=1)  # "today" in any time zone
    deleted, _ = Delivery.objects.filter(
        subscriber_id__in=list(subscriber_ids),
        status=Delivery.Status.EMPTY,
        digest_date__gte=since,
    ).delete()
    return deleted
