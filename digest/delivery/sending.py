"""Sending digests: one chunk of claimed deliveries over one mail connection.

A worker only ever writes rows its own claim token still owns (see `outcomes`); what the
server did not take is given back for a retry.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from digest.mail.mailer import Mailer, Sent
from digest.mail.messages import InvalidRecipient, RenderedEmail
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber

from .items import Chosen, pick_papers
from .outcomes import Outcomes, SendReport
from .planning import chunked, claim, claimable_delivery_ids, plan_deliveries
from .rendering import DigestRenderer

log = logging.getLogger(__name__)

# Temporary refusals in a row after which the rest of the chunk waits for the retry.
TEMPORARY_REFUSALS_IN_A_ROW = 5


class TemporarySendError(Exception):
    """The mail server could not take (some of the) mail now; those rows were released.

    `released` counts the rows given back for a retry; `report` holds what the chunk did
    before and besides that.
    """

    def __init__(self, message: str, *, released: int = 0, report: SendReport | None = None):
        super().__init__(message)
        self.released = released
        self.report = report or SendReport()


def _classify(exc: Exception) -> tuple[str, str]:
    """('permanent' | 'temporary' | 'connection' | 'unknown', text) for a failed send."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, reply = next(iter(exc.recipients.values()))
        return _by_code(code, reply)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        # Our envelope sender was refused: no subscriber's fault, retry later.
        return "connection", f"sender refused: {exc.smtp_code} {_text(exc.smtp_error)}"
    if isinstance(exc, smtplib.SMTPResponseException):
        return _by_code(exc.smtp_code, exc.smtp_error)
    if isinstance(exc, AnymailRecipientsRefused):
        return "permanent", f"refused by the email service: {exc}"
    if isinstance(exc, (smtplib.SMTPException, OSError, AnymailError)):
        # Connection lost, timeouts, an email service's API down or misconfigured: none
        # of that says anything about the address, so nobody is marked failed for it.
        return "connection", f"{exc.__class__.__name__}: {exc}"
    return "unknown", f"{exc.__class__.__name__}: {exc}"


def _by_code(code: int, reply) -> tuple[str, str]:
    text = f"{code} {_text(reply)}"
    if code == 421:  # The server is closing the connection.
        return "connection", text
    return ("temporary" if 400 <= code < 500 else "permanent"), text


def _text(reply) -> str:
    return reply.decode(errors="replace") if isinstance(reply, bytes) else str(reply)


def send_chunk(delivery_ids: list[int], *, now: datetime | None = None) -> SendReport:
    """Claims, builds and sends one chunk of deliveries over one mail connection.

    Raises TemporarySendError when some rows must wait (a 4xx, the server gone); those
    rows are pending again, and the rest of the chunk is recorded.
    """
    now = now or timezone.now()
    report = SendReport()
    token, deliveries = claim(delivery_ids, now)
    if not deliveries:
        return report
    sender = _ChunkSender(Outcomes(token, report), {d.pk: d for d in deliveries})
    try:
        active = [d for d in deliveries if d.subscriber.status == Subscriber.Status.ACTIVE]
        inactive = [
            sender.unsent.pop(d.pk)
            for d in deliveries
            if d.subscriber.status != Subscriber.Status.ACTIVE
        ]
        _cancel(inactive, token)
        report.cancelled += len(inactive)
        items = pick_papers(active)
        paper_ids = {i.paper_id for rows in items.values() for i in rows}
        papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids)} if paper_ids else {}
        sender.send_all(active, items, papers, DigestRenderer())
    finally:
        # Whatever happened (a lost server, a bug, a soft time limit), record what was
        # sent and give back what was not, before the exception goes anywhere.
        sender.outcomes.release(sender.unsent.values())
        sender.outcomes.flush()
    if report.released:
        raise TemporarySendError(
            "; ".join(sender.temporary[:3]) or "mail server unavailable",
            released=report.released,
            report=report,
        )
    return report


def _cancel(deliveries: list[Delivery], token: str) -> None:
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries], claim_token=token).update(
            status=Delivery.Status.CANCELLED, error="no longer subscribed"
        )


@dataclass
class _ChunkSender:
    """Renders each digest of a chunk and hands it to one Mailer; records every answer in
    order. `unsent` holds the rows not recorded yet (given back at the end), `temporary`
    why some must wait."""

    outcomes: Outcomes
    unsent: dict[int, Delivery]
    temporary: list[str] = field(default_factory=list)
    mailer: Mailer | None = None
    refusals: int = 0
    failure: BaseException | None = None

    def send_all(
        self,
        deliveries: list[Delivery],
        items: dict[int, list[Chosen]],
        papers: dict[int, Paper],
        renderer: DigestRenderer,
    ) -> None:
        try:
            for delivery in deliveries:
                chosen = items.get(delivery.pk, [])
                email = self._build(delivery, [(i, papers[i.paper_id]) for i in chosen], renderer)
                if email is not None and not self._submit(delivery, email):
                    break
        finally:
            # Whatever happened, every message in flight is waited for and recorded: one
            # sent but not recorded here would be sent again.
            if self.mailer is not None:
                for result in self.mailer.close():
                    if not self._record(result):
                        self.mailer.stop()
        if self.failure is not None:
            raise self.failure

    def _build(
        self, delivery: Delivery, pairs: list[tuple[Chosen, Paper]], renderer: DigestRenderer
    ) -> RenderedEmail | None:
        """The digest's email, or None when it is recorded as empty or failed instead."""
        if not pairs and delivery.subscriber.empty_day == Subscriber.EmptyDay.NOTHING:
            self.outcomes.mark_empty(self.unsent.pop(delivery.pk))
            return None
        try:
            return renderer.email(delivery, pairs)
        except InvalidRecipient as exc:
            self.outcomes.mark_failed(self.unsent.pop(delivery.pk), str(exc))
            return None

    def _submit(self, delivery: Delivery, email: RenderedEmail) -> bool:
        """Hands one email over; False when nothing more should be sent."""
        if self.mailer is None:
            connection = _open_connection(self.temporary)
            if connection is None:
                return False
            self.mailer = Mailer(connection, _classify)
        self.mailer.submit(delivery, email)
        carry_on = [self._record(result) for result in self.mailer.ready()]
        if not all(carry_on):
            self.mailer.stop()
            return False
        return True

    def _record(self, result: Sent) -> bool:
        """Records one answer; False when nothing more should be sent."""
        delivery = result.key
        if result.kind == "sent":
            self.refusals = 0
            self.outcomes.mark_sent(self.unsent.pop(delivery.pk), result.email.subject)
        elif result.kind == "permanent":
            self.outcomes.mark_failed(self.unsent.pop(delivery.pk), result.text)
        elif result.kind == "temporary":
            # The row stays in `unsent`: it is given back for the retry.
            self.temporary.append(f"{delivery.subscriber.email}: {result.text}")
            self.refusals += 1
            return self.refusals < TEMPORARY_REFUSALS_IN_A_ROW
        elif result.kind == "connection":
            self.temporary.append(f"lost the mail server while sending: {result.text}")
            return False
        elif result.kind == "unknown":
            self.failure = self.failure or result.error
            return False
        return True  # "skipped": never tried, stays in `unsent`


def _open_connection(temporary: list[str]):
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError, AnymailError) as exc:
        # Refused, unreachable, dropped on open: nothing was sent.
        temporary.append(f"mail server unavailable: {exc}")
        return None
    return connection


def send_due(now: datetime | None = None, *, everyone: bool = False) -> SendReport:
    """Plans every due digest and sends every claimable one, in chunks, in this process."""
    now = now or timezone.now()
    report = SendReport(planned=plan_deliveries(now, everyone=everyone))
    # Run by hand, it retries what an earlier run gave back at once.
    ids = claimable_delivery_ids(now, retry_pause=timedelta(0))
    for chunk in chunked(ids, settings.DELIVERY_CHUNK_SIZE):
        try:
            report.add(send_chunk(chunk, now=now))
        except TemporarySendError as exc:
            # The mail server is refusing or down: stop; the released rows go out on the
            # next run, and the rest of the day's rows are still pending.
            report.add(exc.report)
            report.errors.append(str(exc))
            break
    return report
