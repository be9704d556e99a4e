"""Sending digests: one chunk of claimed deliveries over one mail connection.

A worker only ever writes rows its own claim token still owns (see `outcomes`); what the
server did not take is given back for a retry.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import datetime, timedelta
from typing import Any

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import get_connection
from django.utils import timezone

from digest.lib import progress
from digest.mail.mailer import Mailer, Sent
from digest.mail.messages import InvalidRecipient
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber

from .items import pick_papers
from .lease import LeaseKeeper
from .outcomes import Outcomes, SendReport
from .planning import chunked, claim, claimable_delivery_ids, plan_deliveries
from .rendering import DigestRenderer

log = logging.getLogger(__name__)

# Why the rows of a chunk told to stop wait (`send_chunk`'s `stop`).
STOPPED = "the sender was asked to stop (SIGTERM) before sending these"
# Temporary refusals in a row after which the rest of the chunk waits for the retry.
TEMPORARY_REFUSALS_IN_A_ROW = 5
# Permanent refusals, before the server has taken any digest of the chunk, after which it
# is taken to refuse us (a relay that will not relay for us, an unverified sender), not
# the addresses: those rows and the rest wait for the retry, and nobody is suppressed.
PERMANENT_REFUSALS_BEFORE_ANY_SENT = 5


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


def send_chunk(
    delivery_ids: list[int], *, now: datetime | None = None, stop: threading.Event | None = None
) -> SendReport:
    """Claims, builds and sends one chunk of deliveries over one mail connection.

    Raises TemporarySendError when some rows must wait (a 4xx, the server gone); those
    rows are pending again, and the rest of the chunk is recorded. The claim's lease is
    renewed while the chunk is in hand (`lease.LeaseKeeper`). Once `stop` is set (the
    command was asked to stop: SIGTERM), nothing more is handed to the mail server; what
    it took is recorded, and the rest given back.
    """
    report = SendReport()
    token, deliveries = claim(delivery_ids, now)
    if not deliveries:
        return report
    outcomes = Outcomes(token, report)
    unsent = {d.pk: d for d in deliveries}
    temporary: list[str] = []
    crash = ""
    try:
        with LeaseKeeper(token, list(unsent)) as lease:
            _send_claimed(deliveries, token, outcomes, unsent, temporary, lease, stop)
    except BaseException as exc:
        crash = f"{exc.__class__.__name__}: {exc}"
        raise
    finally:
        # Whatever happened (a lost server, a bug, a soft time limit), record what was
        # sent and give back what was not, before the exception goes anywhere. Sent rows
        # are written first, in the same transaction, and only owned rows are released.
        _give_back(outcomes, unsent, crash, waiting=temporary[-1] if temporary else "")
        outcomes.flush()
    if report.released:
        raise TemporarySendError(
            "; ".join(temporary[:3]) or "mail server unavailable",
            released=report.released,
            report=report,
        )
    return report


def _send_claimed(
    deliveries: list[Delivery],
    token: str,
    outcomes: Outcomes,
    unsent: dict[int, Delivery],
    temporary: list[str],
    lease: LeaseKeeper,
    stop: threading.Event | None = None,
) -> None:
    """Cancels the rows of readers gone, picks the others' papers and sends them."""
    active = [d for d in deliveries if d.subscriber.status == Subscriber.Status.ACTIVE]
    inactive = [
        unsent.pop(d.pk) for d in deliveries if d.subscriber.status != Subscriber.Status.ACTIVE
    ]
    _cancel(inactive, token)
    outcomes.report.cancelled += len(inactive)
    items = pick_papers(active, token=token)
    paper_ids = {i.paper_id for rows in items.values() for i in rows}
    papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids)} if paper_ids else {}
    renderer = DigestRenderer(papers=papers.values())
    _send_all(active, items, papers, renderer, outcomes, unsent, temporary, lease=lease, stop=stop)


def _give_back(
    outcomes: Outcomes, unsent: dict[int, Delivery], crash: str, *, waiting: str = ""
) -> None:
    """Releases the unsent rows. A crash counts as a try for every one of them (a bad
    record would otherwise crash every run); a row the server refused with a 4xx counts;
    rows never tried because the server was down or gone do not, but they keep `waiting`,
    why the chunk stopped, so staff see what holds them (the cockpit's "digests-waiting")."""
    if crash:
        outcomes.release(unsent.values(), error=crash)
        return
    refused: dict[str, list[Delivery]] = {}
    for pk, text in outcomes.refused.items():
        if pk in unsent:
            refused.setdefault(text, []).append(unsent.pop(pk))
    for text, rows in refused.items():
        outcomes.release(rows, error=text)
    outcomes.release(unsent.values(), error=waiting, counted=False)


def _cancel(deliveries: list[Delivery], token: str) -> None:
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries], claim_token=token).update(
            status=Delivery.Status.CANCELLED, error="no longer subscribed"
        )


def _send_all(  # noqa: C901 - one send loop, see the `long:` comment
    deliveries,
    items,
    papers,
    renderer,
    outcomes,
    unsent,
    temporary,
    *,
    lease: LeaseKeeper | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Renders each digest and hands it to one Mailer; records every answer in order.

    Stops as soon as `lease` reports rows taken by another sender: this one outlived its
    lease, so nothing more goes out from it (what it still owns is given back); or as
    soon as `stop` is set, between two messages, never in the middle of one."""
    # long: the loop, its mailer, the lease and the recording of every answer stay in one
    # piece so that the exactly-once argument (docs/email.md) reads in one place; issue 13's
    # split of it into a class did not yet carry the lease renewal over.
    mailer: Mailer | None = None
    # `doubted`: permanent refusals held back until the server takes a digest.
    state: dict[str, Any] = {
        "refusals": 0,
        "failure": None,
        "took_one": False,
        "doubted": {},
        "refuses_us": False,
    }

    def record(result: Sent) -> bool:
        """Records one answer; False when nothing more should be sent."""
        delivery = result.key
        if result.kind == "sent":
            state["refusals"] = 0
            state["took_one"] = True
            outcomes.mark_sent(unsent.pop(delivery.pk), result.email.subject)
        elif result.kind == "permanent" and not state["took_one"]:
            return _doubt(result, state, outcomes, temporary)
        elif result.kind == "permanent":
            outcomes.mark_failed(unsent.pop(delivery.pk), result.text)
        elif result.kind == "temporary":
            # The row stays in `unsent`: it is given back for the retry.
            temporary.append(f"{delivery.subscriber.email}: {result.text}")
            outcomes.refused[delivery.pk] = result.text
            state["refusals"] += 1
            if state["refusals"] < TEMPORARY_REFUSALS_IN_A_ROW:
                return True
            # Said for the chunk, so the rows never tried do not wait under one reader's name.
            temporary.append(
                f"the mail server refused {TEMPORARY_REFUSALS_IN_A_ROW} digests in a row "
                f"(the last: {result.text})"
            )
            return False
        elif result.kind == "connection":
            temporary.append(f"lost the mail server while sending: {result.text}")
            return False
        elif result.kind == "unknown":
            state["failure"] = state["failure"] or result.error
            return False
        return True  # "skipped": never tried, stays in `unsent`

    try:
        for delivery in deliveries:
            if lease is not None and lease.lost:
                break
            if stop is not None and stop.is_set():
                temporary.append(STOPPED)
                if mailer is not None:
                    mailer.stop()  # what waits in its queue is given back too
                break
            chosen = items.get(delivery.pk, [])
            if not chosen and delivery.subscriber.empty_day == Subscriber.EmptyDay.NOTHING:
                outcomes.mark_empty(unsent.pop(delivery.pk))
                continue
            try:
                email = renderer.email(delivery, [(i, papers[i.paper_id]) for i in chosen])
            except InvalidRecipient as exc:
                outcomes.mark_failed(unsent.pop(delivery.pk), str(exc))
                continue
            if mailer is None:
                connection = _open_connection(temporary)
                if connection is None:
                    return
                mailer = Mailer(connection, _classify)
                if lease is not None:
                    lease.on_lost = mailer.stop
            mailer.submit(delivery, email)
            carry_on = [record(result) for result in mailer.ready()]
            if not all(carry_on):
                mailer.stop()
                break
    except BaseException:
        if mailer is not None:
            mailer.stop()  # interrupted (a bug, Ctrl-C, SIGTERM): start nothing more
        raise
    finally:
        # Whatever happened, every message in flight is waited for and recorded: one
        # sent but not recorded here would be sent again; so is an interruption of
        # that wait (`Mailer.close`), raised once they are.
        if mailer is not None:
            for result in mailer.close():
                if not record(result):
                    mailer.stop()
        # Too few to doubt the addresses: refused as before.
        for pk, text in state["doubted"].items():
            outcomes.mark_failed(unsent.pop(pk), text)
    if mailer is not None and mailer.interrupted is not None:
        raise mailer.interrupted
    if state["failure"] is not None:
        raise state["failure"]


def _doubt(result: Sent, state: dict[str, Any], outcomes: Outcomes, temporary: list[str]) -> bool:
    """A permanent refusal before the server took any digest of the chunk: held back
    (`state["doubted"]`; `_send_all` fails it at the end if no more come) until
    PERMANENT_REFUSALS_BEFORE_ANY_SENT of them say the server refuses us, not the
    readers. Then they are given back, each with its answer, as a 4xx would be
    (`_give_back`), as is any answer still in flight. False: send nothing more."""
    state["doubted"][result.key.pk] = result.text
    if len(state["doubted"]) < PERMANENT_REFUSALS_BEFORE_ANY_SENT and not state["refuses_us"]:
        return True
    outcomes.refused.update(state["doubted"])
    state["doubted"] = {}
    if not state["refuses_us"]:
        state["refuses_us"] = True
        temporary.append(
            f"the mail server refused the first {PERMANENT_REFUSALS_BEFORE_ANY_SENT} digests "
            f"for good and took none (the last: {result.text}): it refuses us, not the "
            "readers; is EMAIL_URL's server letting us send?"
        )
    return False


def _open_connection(temporary: list[str]):
    connection = get_connection(fail_silently=False)
    try:
        connection.open()
    except (smtplib.SMTPException, OSError, AnymailError) as exc:
        # Refused, unreachable, dropped on open: nothing was sent.
        temporary.append(f"mail server unavailable: {exc}")
        return None
    return connection


def send_due(
    now: datetime | None = None, *, everyone: bool = False, stop: threading.Event | None = None
) -> SendReport:
    """Plans every due digest and sends every claimable one, in chunks, in this process,
    until `stop` is set (see `send_chunk`)."""
    now = now or timezone.now()
    report = SendReport(planned=plan_deliveries(now, everyone=everyone))
    # Run by hand, it retries what an earlier run gave back at once.
    ids = claimable_delivery_ids(now, retry_pause=timedelta(0))
    watch = progress.current()  # `send_digests` shows a bar; the tasks report to no one
    watch.set_total(len(ids))
    for chunk in chunked(ids, settings.DELIVERY_CHUNK_SIZE):
        try:
            if stop is not None and stop.is_set():
                break
            # Each chunk claims at its own time: `now` is when the run began.
            done = send_chunk(chunk, stop=stop)
        except TemporarySendError as exc:
            # The mail server is refusing or down: stop; the released rows go out on the
            # next run, and the rest of the day's rows are still pending.
            report.add(exc.report)
            report.errors.append(str(exc))
            watch.advance(len(chunk), failed=exc.report.failed, failure=str(exc))
            break
        report.add(done)
        watch.advance(len(chunk), failed=done.failed)
    return report
