"""Keeping a claim alive while its chunk is being sent.

A claim is a lease: rows whose `claimed_at` is older than DELIVERY_LEASE_SECONDS may be
taken by another sender (a dead worker's rows must go out). A chunk can take longer than
that (a slow server, a big chunk, a long ranking), so while it is in hand a thread renews
the lease of every row the claim still owns, every quarter lease. Should a renewal find a
row owned by another claim (this process was frozen past its lease), the chunk is told to
stop sending: the rows it still holds are given back, and the other owner sends its own.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.utils import timezone

from digest.models import Delivery

log = logging.getLogger(__name__)


def claims_renew(token: str, delivery_ids: list[int], now: datetime | None = None) -> set[int]:
    """Restamps the rows `token` still holds; returns the ids another claim has taken."""
    Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING).update(
        claimed_at=now or timezone.now()
    )
    # A row we released or recorded has our token or none; any other token is a taker.
    taken = Delivery.objects.filter(pk__in=delivery_ids).exclude(claim_token__in=[token, ""])
    return set(taken.values_list("pk", flat=True))


class LeaseKeeper:
    """Renews a claim from a thread until `stop()`; `lost` holds rows taken by others.

    A thread, not calls between messages: the main thread can block for a long time (a
    ranking, a full queue to the mail server, waiting for the last messages in flight).
    """

    def __init__(self, token: str, delivery_ids: list[int], interval: float | None = None):
        self.token = token
        self.delivery_ids = list(delivery_ids)
        self.interval = interval or settings.DELIVERY_LEASE_SECONDS / 4
        self.lost: set[int] = set()
        self.on_lost: Callable[[], None] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease", daemon=True)

    def __enter__(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        try:
            while not self._stop.wait(self.interval):
                self.renew()
        finally:
            # This thread's own database connection, opened only if it renewed.
            connection.close()

    def renew(self) -> None:
        try:
            taken = claims_renew(self.token, self.delivery_ids)
        except DatabaseError:
            # The next renewal tries again; a quarter lease is enough slack for a few.
            log.warning("could not renew the delivery lease", exc_info=True)
            return
        if taken - self.lost:
            log.error("%d delivery rows were taken over by another sender", len(taken))
            self.lost |= taken
            if self.on_lost is not None:
                self.on_lost()
