"""Digest delivery: who is due, claiming their rows, building, rendering, sending, recording.

Exactly once: every subscriber has one Delivery row per digest date (a database
constraint). A sender claims rows with one conditional UPDATE, committed before it talks
to the mail server, and records each row's outcome after the server answered. A claim
older than the lease (a dead worker) becomes claimable again; a worker only ever writes
rows its own claim token still owns.

Outcomes are written in small batches (see `Outcomes`), so a chunk costs a bounded number
of queries instead of one UPDATE per message. Any exception flushes the batch and gives
the unsent rows back before it propagates, so only a hard kill (SIGKILL, power loss)
between the server's acceptance and the next flush can repeat a digest: at most
`FLUSH_EVERY` messages. The repeat carries the same
Message-ID. docs/email.md explains the trade-off.
"""

from __future__ import annotations

import json
import logging
import smtplib
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import get_connection
from django.db import connection as db
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.utils import timezone

from subscriptions.models import Subscriber

from . import selectors
from .emails import InvalidRecipient, Mailer, Sent, message_id
from .models import Delivery, DeliveryItem, Paper
from .picking import pick
from .ranking import Pick
from .rendering import DigestRenderer

log = logging.getLogger(__name__)

# Permanent failures in a row after which an address is suppressed.
SUPPRESS_AFTER_FAILURES = 3
# Outcomes are written when this many are waiting (and when the chunk ends or fails).
FLUSH_EVERY = 100
# Temporary refusals in a row after which the rest of the chunk waits for the retry.
TEMPORARY_REFUSALS_IN_A_ROW = 5
# Rows given back after a temporary failure wait this long before a tick offers them
# again; until then the failed chunk's own retry (with its backoff) owns them.
RETRY_PAUSE = timedelta(minutes=30)


class TemporarySendError(Exception):
    """The mail server could not take (some of the) mail now; those rows were released.

    `released` counts the rows given back for a retry; `report` holds what the chunk did
    before and besides that.
    """

    def __init__(self, message: str, *, released: int = 0, report: SendReport | None = None):
        super().__init__(message)
        self.released = released
        self.report = report or SendReport()


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


@dataclass(frozen=True)
class DueDigest:
    subscriber_id: int
    digest_date: date


# --- Planning -------------------------------------------------------------------------


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def due_digests(now: datetime, *, everyone: bool = False) -> list[DueDigest]:
    """Active subscribers whose digest for their local today is due and not yet planned.

    Due means their local hour has reached their send hour (so a tick missed during an
    outage still sends later that day) and, for weekly subscribers, it is their weekday.
    `everyone` ignores hour and weekday. One query per distinct time zone.
    """
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    due: list[DueDigest] = []
    for zone in active.values_list("time_zone", flat=True).distinct().order_by():
        local = now.astimezone(_zone(zone))
        candidates = active.filter(time_zone=zone)
        if not everyone:
            candidates = candidates.filter(send_hour__lte=local.hour).filter(
                Q(frequency=Subscriber.Frequency.DAILY)
                | Q(frequency=Subscriber.Frequency.WEEKLY, weekday=local.weekday())
            )
        planned = Delivery.objects.filter(digest_date=local.date()).values("subscriber_id")
        ids = candidates.exclude(pk__in=planned).values_list("pk", flat=True)
        due.extend(DueDigest(pk, local.date()) for pk in ids)
    return due


def plan_deliveries(now: datetime, *, everyone: bool = False) -> int:
    """Creates the due delivery rows; idempotent against the one-per-date constraint."""
    due = due_digests(now, everyone=everyone)
    Delivery.objects.bulk_create(
        [Delivery(subscriber_id=d.subscriber_id, digest_date=d.digest_date) for d in due],
        ignore_conflicts=True,
        batch_size=1000,
    )
    return len(due)


def _claimable(now: datetime) -> Q:
    lease_start = now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    return Q(status=Delivery.Status.PENDING) | Q(
        status=Delivery.Status.SENDING, claimed_at__lt=lease_start
    )


def claimable_delivery_ids(now: datetime, *, retry_pause: timedelta = RETRY_PAUSE) -> list[int]:
    """The rows to hand out now: never tried, left by a dead worker, or given back by a
    chunk more than `retry_pause` ago (before that, the chunk's own retry takes them with
    its backoff; handing them out on every tick would defeat it)."""
    rested = Q(claimed_at__isnull=True) | Q(claimed_at__lt=now - retry_pause)
    ready = _claimable(now) & (rested | Q(status=Delivery.Status.SENDING))
    return list(Delivery.objects.filter(ready).order_by("pk").values_list("pk", flat=True))


def chunked(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def claim(delivery_ids: Iterable[int], now: datetime) -> tuple[str, list[Delivery]]:
    """Takes the rows no one else holds; returns the claim token and the rows won.

    The UPDATE commits before anything is sent: two workers given the same ids (two
    beats, a duplicated or retried task) race on it, and each row goes to one of them.
    """
    token = uuid.uuid4().hex
    with transaction.atomic():
        Delivery.objects.filter(_claimable(now), pk__in=list(delivery_ids)).update(
            status=Delivery.Status.SENDING,
            claimed_at=now,
            claim_token=token,
            attempts=F("attempts") + 1,
        )
    won = Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
    return token, list(won.select_related("subscriber").order_by("pk"))


# --- What each digest holds -----------------------------------------------------------


class Chosen(NamedTuple):
    """One paper in one delivery: a DeliveryItem's fields without a model instance (a
    chunk holds thousands; building models for them cost more than rendering)."""

    delivery_id: int
    paper_id: int
    rank: int
    score: float
    reason: str


def pick_papers(deliveries: list[Delivery]) -> dict[int, list[Chosen]]:
    """The papers each delivery carries, ranked now or, for a re-claimed row, as stored.

    A row taken over from a dead worker keeps the papers it was given the first time, so
    a retried digest is the same digest.
    """
    items: dict[int, list[Chosen]] = defaultdict(list)
    if not deliveries:
        return items
    stored = (
        DeliveryItem.objects.filter(delivery_id__in=[d.pk for d in deliveries])
        .order_by("delivery_id", "rank")
        .values_list("delivery_id", "paper_id", "rank", "score", "reason")
    )
    for row in stored:
        items[row[0]].append(Chosen(*row))
    fresh = [d for d in deliveries if d.pk not in items]
    if fresh:
        new_items = _rank_deliveries(fresh)
        insert_items(new_items)
        for item in new_items:
            items[item.delivery_id].append(item)
    return items


def _rank_deliveries(deliveries: list[Delivery]) -> list[Chosen]:
    """Ranks a chunk: one paper pool per (date, window) and one profile query set."""
    groups: dict[tuple[date, int], list[Delivery]] = defaultdict(list)
    for d in deliveries:
        days = selectors.window_days(d.subscriber, settings.DIGEST_WINDOW_DAYS)
        groups[(d.digest_date, days)].append(d)
    profiles = {
        p.subscriber_id: p
        for p in selectors.profiles_for(
            [d.subscriber for d in deliveries], exclude_delivery_ids=[d.pk for d in deliveries]
        )
    }
    items = []
    for (digest_date, days), group in groups.items():
        pool = selectors.paper_pool(digest_date, days)
        picks = pick(pool, [profiles[d.subscriber_id] for d in group])
        for d in group:
            items.extend(_items_for(d, picks.get(d.subscriber_id, [])))
    return items


def _items_for(delivery: Delivery, picks: list[Pick]) -> list[Chosen]:
    return [
        Chosen(delivery.pk, p.paper_id, i, p.score, p.reason[:300])
        for i, p in enumerate(picks, start=1)
    ]


def _json_rows(columns: list[tuple[str, str]]) -> str | None:
    """A SELECT giving one row per element of a JSON array parameter (each element a list
    in `columns` order), so one statement can carry any number of rows; None where the
    database has no JSON table function we use."""
    if db.vendor == "sqlite":
        picked = (f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
        return f"SELECT {', '.join(picked)} FROM json_each(%s)"  # noqa: S608 - our names
    if db.vendor == "postgresql":
        picked = (f"(r->>{i})::{kind} AS {name}" for i, (name, kind) in enumerate(columns))
        return f"SELECT {', '.join(picked)} FROM jsonb_array_elements(%s::jsonb) AS r"  # noqa: S608
    return None


def insert_items(items: list[Chosen]) -> None:
    """Stores a chunk's items in one INSERT, however many (bulk_create on SQLite would
    need one statement per ~200 rows, on PostgreSQL one per batch)."""
    if not items:
        return
    columns = [
        ("delivery_id", "bigint"),
        ("paper_id", "bigint"),
        ("rank", "smallint"),
        ("score", "double precision"),
        ("reason", "text"),
    ]
    select = _json_rows(columns)
    if select is None:
        DeliveryItem.objects.bulk_create(
            [DeliveryItem(**item._asdict()) for item in items], batch_size=1000
        )
        return
    table = db.ops.quote_name(DeliveryItem._meta.db_table)
    names = ", ".join(db.ops.quote_name(name) for name, _ in columns)
    rows = [[i.delivery_id, i.paper_id, i.rank, i.score, i.reason] for i in items]
    with db.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table} ({names}) {select}", [json.dumps(rows)])  # noqa: S608 - names are ours, values a parameter


# --- Recording outcomes ---------------------------------------------------------------


class Outcomes:
    """The results of one claim, written in batches: a few statements per flush, not one
    per message. Only rows the claim token still owns are ever written."""

    def __init__(self, token: str, report: SendReport) -> None:
        self.token = token
        self.report = report
        self.sent: list[tuple[Delivery, str]] = []
        self.empty: list[Delivery] = []
        self.failed: list[tuple[Delivery, str]] = []
        self.released: list[Delivery] = []

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

    def release(self, deliveries: Iterable[Delivery]) -> None:
        self.released.extend(deliveries)

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
        return Delivery.objects.filter(
            pk__in=ids, claim_token=self.token, status=Delivery.Status.SENDING
        )

    def _write_sent(self) -> None:
        if not self.sent:
            return
        rows = [
            [d.pk, subject[:255], message_id("digest", d.public_id.hex)[:255]]
            for d, subject in self.sent
        ]
        values = {"status": Delivery.Status.SENT, "sent_at": timezone.now(), "error": ""}
        self._update_each(rows, ["subject", "message_id"], values)
        # A delivered digest ends a run of permanent failures.
        failing = [d.subscriber_id for d, _ in self.sent if d.subscriber.failure_count]
        if failing:
            Subscriber.objects.filter(pk__in=failing).update(failure_count=0)

    def _update_each(self, rows: list[list], columns: list[str], values: dict) -> None:
        """One UPDATE for rows that each get their own `columns` (row = [pk, *columns])
        and all get `values`; only rows this claim still owns."""
        select = _json_rows([("id", "bigint")] + [(c, "text") for c in columns])
        owned = [row[0] for row in rows]
        if select is None:
            cases = {
                column: Case(
                    *(When(pk=row[0], then=Value(row[n])) for row in rows), default=Value("")
                )
                for n, column in enumerate(columns, start=1)
            }
            self._owned_ids(owned).update(**values, **cases)
            return
        table = db.ops.quote_name(Delivery._meta.db_table)
        fields = {f.name: f for f in Delivery._meta.concrete_fields}
        assignments = [f"{db.ops.quote_name(name)} = %s" for name in values]
        assignments += [f"{db.ops.quote_name(c)} = v.{c}" for c in columns]
        params = [fields[name].get_db_prep_save(value, db) for name, value in values.items()]
        sql = (
            f"UPDATE {table} SET {', '.join(assignments)} FROM ({select}) AS v "  # noqa: S608 - names are ours, values parameters
            f"WHERE {table}.id = v.id AND {table}.claim_token = %s AND {table}.status = %s"
        )
        with db.cursor() as cursor:
            cursor.execute(sql, [*params, json.dumps(rows), self.token, Delivery.Status.SENDING])

    def _write(self, deliveries: list[Delivery], status: str) -> None:
        if deliveries:
            self._owned(deliveries).update(status=status, error="")

    def _write_failed(self) -> None:
        if not self.failed:
            return
        rows = [[d.pk, error] for d, error in self.failed]
        self._update_each(rows, ["error"], {"status": Delivery.Status.FAILED})
        subscribers_record_permanent_failure({d.subscriber_id: error for d, error in self.failed})

    def _write_released(self) -> int:
        if not self.released:
            return 0
        # claimed_at stays: it tells the tick when this row was last tried.
        count = self._owned(self.released).update(status=Delivery.Status.PENDING, claim_token="")
        self.report.released += count
        return count


def subscribers_record_permanent_failure(reasons: dict[int, str]) -> None:
    """Counts one more permanent failure for each subscriber; enough in a row suppress."""
    Subscriber.objects.filter(pk__in=list(reasons)).update(failure_count=F("failure_count") + 1)
    reached = Subscriber.objects.filter(
        pk__in=list(reasons),
        failure_count__gte=SUPPRESS_AFTER_FAILURES,
        status=Subscriber.Status.ACTIVE,
    )
    for pk in reached.values_list("pk", flat=True):
        Subscriber.objects.filter(pk=pk).update(
            status=Subscriber.Status.BOUNCED,
            suppressed_reason=f"{SUPPRESS_AFTER_FAILURES} permanent failures, last: {reasons[pk]}"[
                :300
            ],
        )


def subscriber_record_permanent_failure(subscriber: Subscriber, reason: str) -> None:
    subscribers_record_permanent_failure({subscriber.pk: reason})


# --- Sending --------------------------------------------------------------------------


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
    outcomes = Outcomes(token, report)
    unsent = {d.pk: d for d in deliveries}
    temporary: list[str] = []
    try:
        active = [d for d in deliveries if d.subscriber.status == Subscriber.Status.ACTIVE]
        inactive = [
            unsent.pop(d.pk) for d in deliveries if d.subscriber.status != Subscriber.Status.ACTIVE
        ]
        _cancel(inactive, token)
        report.cancelled += len(inactive)
        items = pick_papers(active)
        paper_ids = {i.paper_id for rows in items.values() for i in rows}
        papers = {p.pk: p for p in Paper.objects.filter(pk__in=paper_ids)} if paper_ids else {}
        renderer = DigestRenderer()
        _send_all(active, items, papers, renderer, outcomes, unsent, temporary)
    finally:
        # Whatever happened (a lost server, a bug, a soft time limit), record what was
        # sent and give back what was not, before the exception goes anywhere.
        outcomes.release(unsent.values())
        outcomes.flush()
    if report.released:
        raise TemporarySendError(
            "; ".join(temporary[:3]) or "mail server unavailable",
            released=report.released,
            report=report,
        )
    return report


def _cancel(deliveries: list[Delivery], token: str) -> None:
    if deliveries:
        Delivery.objects.filter(pk__in=[d.pk for d in deliveries], claim_token=token).update(
            status=Delivery.Status.CANCELLED, error="no longer subscribed"
        )


def _send_all(deliveries, items, papers, renderer, outcomes, unsent, temporary) -> None:
    """Renders each digest and hands it to one Mailer; records every answer in order."""
    mailer: Mailer | None = None
    state = {"refusals": 0, "failure": None}

    def record(result: Sent) -> bool:
        """Records one answer; False when nothing more should be sent."""
        delivery = result.key
        if result.kind == "sent":
            state["refusals"] = 0
            outcomes.mark_sent(unsent.pop(delivery.pk), result.email.subject)
        elif result.kind == "permanent":
            outcomes.mark_failed(unsent.pop(delivery.pk), result.text)
        elif result.kind == "temporary":
            # The row stays in `unsent`: it is given back for the retry.
            temporary.append(f"{delivery.subscriber.email}: {result.text}")
            state["refusals"] += 1
            return state["refusals"] < TEMPORARY_REFUSALS_IN_A_ROW
        elif result.kind == "connection":
            temporary.append(f"lost the mail server while sending: {result.text}")
            return False
        elif result.kind == "unknown":
            state["failure"] = state["failure"] or result.error
            return False
        return True  # "skipped": never tried, stays in `unsent`

    try:
        for delivery in deliveries:
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
            mailer.submit(delivery, email)
            carry_on = [record(result) for result in mailer.ready()]
            if not all(carry_on):
                mailer.stop()
                break
    finally:
        # Whatever happened, every message in flight is waited for and recorded: one
        # sent but not recorded here would be sent again.
        if mailer is not None:
            for result in mailer.close():
                if not record(result):
                    mailer.stop()
    if state["failure"] is not None:
        raise state["failure"]


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


# --- Previews -------------------------------------------------------------------------


def render_delivery(delivery: Delivery) -> tuple[str, str, str]:
    """Subject, text and HTML of a delivery as it was (or would be) sent."""
    items = list(delivery.items.select_related("paper").order_by("rank"))
    return DigestRenderer().render(delivery, [(i, i.paper) for i in items])


def preview_picks(subscriber: Subscriber, interest_overrides: dict | None = None) -> list[dict]:
    """ "Your digest if it were sent now": ranks today's pool with the given interests."""
    from subscriptions.models import Interest

    overrides = interest_overrides or {}
    interest = Interest.objects.filter(subscriber=subscriber).first() or Interest(
        subscriber=subscriber
    )
    for name in ("categories", "keywords", "authors", "description"):
        if name in overrides:
            setattr(interest, name, overrides[name])
    if "paper_limit" in overrides:
        subscriber.paper_limit = int(overrides["paper_limit"])
    base = selectors.profiles_for([subscriber])[0]
    profile = selectors.profile_from(
        subscriber, interest, base.already_sent, base.liked, base.disliked
    )
    today = timezone.localdate(timezone=subscriber.tz)
    pool = selectors.paper_pool(
        today, selectors.window_days(subscriber, settings.DIGEST_WINDOW_DAYS)
    )
    picks = pick(pool, [profile]).get(subscriber.pk, [])
    papers = Paper.objects.in_bulk([p.paper_id for p in picks])
    return [
        {
            "arxiv_id": papers[p.paper_id].arxiv_id,
            "title": papers[p.paper_id].title_text,
            "authors": list(papers[p.paper_id].authors),
            "abs_url": papers[p.paper_id].get_absolute_url(),
            "reason": p.reason,
            "score": round(p.score, 4),
        }
        for p in picks
    ]
