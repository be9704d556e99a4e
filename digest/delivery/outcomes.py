"""Recording what a claim did: outcomes written in small batches, only for owned rows.

Any exception flushes the batch and gives the unsent rows back before it propagates, so
only a hard kill (SIGKILL, power loss) between the server's acceptance and the next flush
can repeat a digest: at most `FLUSH_EVERY` messages, with the same Message-ID.
docs/email.md explains the trade-off.

A row the server took is recorded as sent even if another claim holds it now (this
sender outlived its lease): "delivered" is the truth, and it stops the other owner's
release (or its crash) from putting the row back for a third send.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from digest.lib.bulk import update_each
from digest.mail.messages import message_id
from digest.models import Delivery
from subscriptions.suppressions import (
    subscribers_clear_failures,
    subscribers_record_permanent_failure,
)

from .rendering import message_key

# Outcomes are written when this many are waiting (and when the chunk ends or fails).
FLUSH_EVERY = 100


@dataclass
class SendReport:
    planned: int = 0
    sent: int = 0
    empty: int = 0
    failed: int = 0
    released: int = 0
    cancelled: int = 0
    errors: list[str] = field(default_factory=list)

    def add(self, other: SendReport) -> None:
        for name in ("sent", "empty", "failed", "released", "cancelled"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.errors.extend(other.errors)


class Outcomes:
    """The results of one claim, written in batches: a few statements per flush, not one
    per message. Only rows the claim token still owns are ever written."""

    def __init__(self, token: str, report: SendReport) -> None:
        self.token = token
        self.report = report
        self.sent: list[tuple[Delivery, str]] = []
        self.empty: list[Delivery] = []
        self.failed: list[tuple[Delivery, str]] = []
        # (rows, error, counted): what is given back, why, and whether the try counts
        # towards DELIVERY_MAX_ATTEMPTS (not when the mail server was the trouble).
        self.released: list[tuple[list[Delivery], str, bool]] = []
        # Rows the server refused for now (a 4xx), with its answer: given back at the end.
        self.refused: dict[int, str] = {}

    def mark_sent(self, delivery: Delivery, subject: str) -> None:
        self.sent.append((delivery, subject))
        self.report.sent += 1
        self._maybe_flush()

    def mark_empty(self, delivery: Delivery) -> None:
        self.empty.append(delivery)
        self.report.empty += 1

    def mark_failed(self, delivery: Delivery, error: str) -> None:
        self.failed.append((delivery, error[:2000]))
        self.report.failed += 1
        self.report.errors.append(f"{delivery.subscriber.email}: {error}")
        self._maybe_flush()

    def release(
        self, deliveries: Iterable[Delivery], *, error: str = "", counted: bool = True
    ) -> None:
        rows = list(deliveries)
        if rows:
            self.released.append((rows, error[:2000], counted))

    def _maybe_flush(self) -> None:
        if len(self.sent) + len(self.failed) >= FLUSH_EVERY:
            self.flush()

    def flush(self) -> None:
        if not (self.sent or self.empty or self.failed or self.released):
            return
        with transaction.atomic():
            self._write_sent()
            self._write(self.empty, Delivery.Status.EMPTY)
            self._write_failed()
            self._write_released()
        self.sent, self.empty, self.failed, self.released = [], [], [], []

    def _owned(self, deliveries: Iterable[Delivery]):
        return self._owned_ids([d.pk for d in deliveries])

    def _owned_ids(self, ids: list[int]):
        return self._claimed().filter(pk__in=ids)

    def _claimed(self):
        return Delivery.objects.filter(claim_token=self.token, status=Delivery.Status.SENDING)

    def _not_yet_delivered(self, ids: list[int]):
        """Those of `ids` not recorded as done, ours or not (see the module docstring).

        Filtered by id too: "not done" alone is most of the day's rows, and the UPDATE
        would read them all for every batch."""
        undone = [Delivery.Status.PENDING, Delivery.Status.SENDING]
        return Delivery.objects.filter(pk__in=ids, status__in=undone)

    def _write_sent(self) -> None:
        if not self.sent:
            return
        rows = [
            [d.pk, subject[:255], message_id("digest", message_key(d))[:255]]
            for d, subject in self.sent
        ]
        values = {"status": Delivery.Status.SENT, "sent_at": timezone.now(), "error": ""}
        recorded = self._not_yet_delivered([d.pk for d, _ in self.sent])
        update_each(recorded, rows, ["subject", "message_id"], values)
        # A delivered digest ends a run of permanent failures.
        subscribers_clear_failures(
            [d.subscriber_id for d, _ in self.sent if d.subscriber.failure_count]
        )

    def _write(self, deliveries: list[Delivery], status: str) -> None:
        if deliveries:
            self._owned(deliveries).update(status=status, error="")

    def _write_failed(self) -> None:
        if not self.failed:
            return
        rows = [[d.pk, error] for d, error in self.failed]
        update_each(self._claimed(), rows, ["error"], {"status": Delivery.Status.FAILED})
        subscribers_record_permanent_failure({d.subscriber_id: error for d, error in self.failed})

    def _write_released(self) -> None:
        # claimed_at stays: it tells the tick when this row was last tried.
        for rows, error, counted in self.released:
            values: dict[str, Any] = {
                "status": Delivery.Status.PENDING,
                "claim_token": "",
                "error": error,
            }
            if not counted:
                values["attempts"] = F("attempts") - 1
            self.report.released += self._owned(rows).update(**values)
