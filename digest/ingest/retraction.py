"""Retracting papers: how staff take a paper out of digests without erasing history.

A paper someone received or answered cannot be deleted (the foreign keys protect it):
the digests it was in and the answers it got are the subscribers' record, and they are
also what keeps it from being sent to the same people again. A retracted paper stays in
those records and leaves every future pool (`digest.selectors.paper_pool`) and the
sign-up page's sample; a later pull that lists it again updates its fields and leaves
it retracted. A pull retracts a held paper its source says the authors withdrew
(digest.ingest.pipeline), as staff would.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from digest.models import Paper


def papers_retract(paper_ids: Iterable[int], now: datetime | None = None) -> int:
    """Retracts these papers from future digests; returns how many were not already.
    A paper retracted before keeps the time it was first retracted."""
    return Paper.objects.filter(pk__in=list(paper_ids), retracted_at__isnull=True).update(
        retracted_at=now or timezone.now()
    )


def papers_restore(paper_ids: Iterable[int]) -> int:
    """Offers these retracted papers in digests again; returns how many were retracted."""
    return Paper.objects.filter(pk__in=list(paper_ids), retracted_at__isnull=False).update(
        retracted_at=None
    )
