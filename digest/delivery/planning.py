"""Who is due a digest, and claiming their delivery rows.

Exactly once: every subscriber has one Delivery row per digest date (a database
constraint). A sender claims rows with one conditional UPDATE, committed before it talks
to the mail server; a claim older than the lease (a dead worker) becomes claimable again.
"""

from __future__ import annotations

import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, F, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat
from django.utils import timezone

from digest.models import Delivery
from subscriptions.models import Subscriber

from . import schedule

# Rows given back after a temporary failure wait this long before a tick offers them
# again; until then the failed chunk's own retry (with its backoff) owns them.
RETRY_PAUSE = timedelta(minutes=30)


@dataclass(frozen=True)
class DueDigest:
    subscriber_id: int
    digest_date: date


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _just_confirmed(now: datetime) -> Q:
    """Subscribers still in the grace after confirming: the confirmed page sends them on to
    answer papers and choose topics, and their first digest should hold those answers.
    Confirming again after an unsubscribe stamps `confirmed_at` anew and gets the same
    grace (the undo button does not: it keeps the first confirmation)."""
    return Q(confirmed_at__gt=now - timedelta(minutes=settings.FIRST_DIGEST_DELAY))


def due_digests(now: datetime, *, everyone: bool = False) -> list[DueDigest]:
    """Active subscribers whose digest for their local today is due and not yet planned
    (nor one of a later day: see below).

    Due means their local hour has reached their send hour (so a tick missed during an
    outage still sends later that day), for weekly subscribers it is their weekday, and
    they confirmed at least FIRST_DIGEST_DELAY minutes ago. `everyone` ignores all three.
    One query per distinct time zone.
    """
    active = Subscriber.objects.filter(status=Subscriber.Status.ACTIVE)
    if not everyone:
        active = active.exclude(_just_confirmed(now))
    due: list[DueDigest] = []
    for zone in active.values_list("time_zone", flat=True).distinct().order_by():
        local = now.astimezone(_zone(zone))
        candidates = active.filter(time_zone=zone)
        if not everyone:
            candidates = candidates.filter(send_hour__lte=local.hour).filter(
                Q(frequency=Subscriber.Frequency.DAILY)
                | Q(frequency=Subscriber.Frequency.WEEKLY, weekday=local.weekday())
            )
        # A cancelled row (they were away when it was sent) does not count: a reader
        # who came back the same day still gets that day's digest. A row of a later day
        # counts: a reader who moved west after their digest of the 4th in Tokyo is still
        # on the 3rd in New York, and must not get that day's too, an hour later.
        planned = _planned_from(local.date()).values("subscriber_id")
        ids = candidates.exclude(pk__in=planned).values_list("pk", flat=True)
        due.extend(DueDigest(pk, local.date()) for pk in ids)
    return due


def _planned_from(day: date) -> QuerySet[Delivery]:
    """The rows that count as planned for `day`: its own and any later day's, unless
    cancelled (`due_digests` says why; `first_digest` promises by the same rule)."""
    return Delivery.objects.filter(digest_date__gte=day).exclude(status=Delivery.Status.CANCELLED)


def first_digest(subscriber: Subscriber, now: datetime) -> dict[str, Any] | None:
    """When the subscriber's first digest goes out, in their time zone, as `due_digests`
    decides it at the send ticks beat really runs (the schedule staff keep in the admin):
    the first tick on a day (their weekday, if weekly) whose send hour has come, once
    FIRST_DIGEST_DELAY minutes have passed since they confirmed, that has no digest yet,
    nor a later one (someone coming back the day theirs was sent gets none again that
    day). `soon` when the grace, not the send hour, decides the time. None when no tick
    in the coming week would send it (the tick disabled, say): no time is promised."""
    tz = subscriber.tz
    ticks = schedule.send_ticks(now)
    confirmed = subscriber.confirmed_at or now
    not_before = max(now, confirmed + timedelta(minutes=settings.FIRST_DIGEST_DELAY))
    today = now.astimezone(tz).date()
    weekly = subscriber.frequency == Subscriber.Frequency.WEEKLY
    last_planned = _last_day_planned(subscriber, today)
    for days in range(8):
        day = today + timedelta(days=days)
        if (weekly and day.weekday() != subscriber.weekday) or (
            last_planned is not None and day <= last_planned
        ):
            continue
        send_time = datetime.combine(day, time(subscriber.send_hour), tzinfo=tz)
        # Compared in UTC: datetimes sharing a tzinfo compare by wall clock alone.
        due_from = max(send_time.astimezone(UTC), not_before.astimezone(UTC))
        tick = ticks.next_at(due_from)
        if tick is None:
            return None
        at = tick.astimezone(tz)
        if at.date() != day:
            continue  # no tick sends it that day (past midnight, its hour is not due)
        label = {0: "today", 1: "tomorrow"}.get(days) or f"{at:%A}"
        # Formatted here, in their zone: a template's date filter would show server time.
        date_label = f"{at:%A} {at.day} {at:%B}"
        soon = due_from != send_time
        return {"at": at, "soon": soon, "day": label, "date": date_label, "time": f"{at:%H:%M}"}
    return None


def _last_day_planned(subscriber: Subscriber, since: date) -> date | None:
    """The latest day from `since` on with a digest already (sent, empty or on its way),
    which `due_digests` counts as planned for that day and every earlier one; a cancelled
    one does not count, as the planner sends that day's digest after all."""
    rows = _planned_from(since).filter(subscriber=subscriber)
    return rows.order_by("-digest_date").values_list("digest_date", flat=True).first()


def plan_deliveries(now: datetime, *, everyone: bool = False) -> int:
    """Creates the due delivery rows; idempotent against the one-per-date constraint.

    A cancelled row for a due digest is made pending again, as if new; a row of an earlier
    day that no sender touched is cancelled, superseded by the new one."""
    due = due_digests(now, everyone=everyone)
    Delivery.objects.bulk_create(
        [Delivery(subscriber_id=d.subscriber_id, digest_date=d.digest_date) for d in due],
        ignore_conflicts=True,
        batch_size=1000,
    )
    by_date: dict[date, list[int]] = defaultdict(list)
    for d in due:
        by_date[d.digest_date].append(d.subscriber_id)
    for digest_date, subscriber_ids in by_date.items():
        cancelled = Delivery.objects.filter(
            status=Delivery.Status.CANCELLED,
            digest_date=digest_date,
            subscriber_id__in=subscriber_ids,
        )
        deliveries_requeue(cancelled, now)
        _supersede_untouched(subscriber_ids, digest_date)
    return len(due)


def _supersede_untouched(subscriber_ids: list[int], digest_date: date) -> int:
    """Cancels these subscribers' rows of earlier days that no sender ever touched (no
    send worker ran since they were planned): the digest of `digest_date` draws from
    every paper since their previous digest, so it carries those days' papers too, and
    the reader gets one digest, not two at once with the same papers in both. A row that
    was claimed (its papers may be stored, a retry will send them) or put back by staff
    (a resend) is kept."""
    return Delivery.objects.filter(
        subscriber_id__in=subscriber_ids,
        digest_date__lt=digest_date,
        status=Delivery.Status.PENDING,
        claimed_at__isnull=True,
        requeued_at__isnull=True,
    ).update(
        status=Delivery.Status.CANCELLED,
        error=f"superseded by the digest of {digest_date}, which carries its papers",
    )


def delivery_resend_today(subscriber: Subscriber) -> Delivery:
    """Today's digest (in the subscriber's time zone) queued again for the next tick, as
    staff ask from the admin: the same papers if it was built already (less any retracted
    since), else a new row ranked at send time."""
    today = timezone.now().astimezone(subscriber.tz).date()
    with transaction.atomic():
        delivery, created = Delivery.objects.get_or_create(subscriber=subscriber, digest_date=today)
        if not created:
            deliveries_requeue(Delivery.objects.filter(pk=delivery.pk))
    return delivery


def deliveries_requeue(rows: QuerySet[Delivery], now: datetime | None = None) -> int:
    """Puts these rows back in the queue as if new: pending, unclaimed, without an error,
    with all DELIVERY_MAX_ATTEMPTS tries, and waiting from `now` (a resend of last week's
    digest has not been waiting a week: the cockpit's "digests-waiting" counts from
    here). A row being sent stays with its sender, in the same UPDATE: made pending under
    it, another claim would send it a second time. Returns how many were requeued.

    A row given back after a temporary failure is not requeued: it keeps its tries and
    its wait, so a mail server that keeps refusing is reported after an hour."""
    return rows.exclude(status=Delivery.Status.SENDING).update(
        status=Delivery.Status.PENDING,
        claim_token="",
        claimed_at=None,
        error="",
        attempts=0,
        requeued_at=now or timezone.now(),
    )


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


def _gave_up() -> Case:
    """The error of a row that had its tries: a bad record or a bug must not loop forever."""
    gave_up = f"gave up after {settings.DELIVERY_MAX_ATTEMPTS} attempts; the last error: "
    return Case(
        When(error="", then=Value(gave_up + "none recorded (the sender was killed?)")),
        default=Concat(Value(gave_up), F("error"), output_field=TextField()),
        output_field=TextField(),
    )


def chunked(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def claim(delivery_ids: Iterable[int], now: datetime | None = None) -> tuple[str, list[Delivery]]:
    """Takes the rows no one else holds; returns the claim token and the rows won.

    The UPDATE commits before anything is sent: two workers given the same ids (two
    beats, a duplicated or retried task) race on it, and each row goes to one of them.
    The claim is stamped with the time it is made (`now` is for tests that travel), never
    with the start of a long run: a stale stamp would look expired the moment it is made.
    Rows already tried DELIVERY_MAX_ATTEMPTS times are marked failed instead, with their
    last error; staff see them in the admin.
    """
    now = now or timezone.now()
    token = uuid.uuid4().hex
    done = Q(attempts__gte=settings.DELIVERY_MAX_ATTEMPTS)
    with transaction.atomic():
        # One UPDATE: the rows that had their tries are failed, the others claimed.
        Delivery.objects.filter(_claimable(now), pk__in=list(delivery_ids)).update(
            status=Case(
                When(done, then=Value(Delivery.Status.FAILED)),
                default=Value(Delivery.Status.SENDING),
            ),
            claimed_at=now,
            claim_token=Case(When(done, then=Value("")), default=Value(token)),
            attempts=Case(When(done, then=F("attempts")), default=F("attempts") + 1),
            error=Case(When(done, then=_gave_up()), default=F("error")),
        )
    won = Delivery.objects.filter(claim_token=token, status=Delivery.Status.SENDING)
    return token, list(won.select_related("subscriber").order_by("pk"))
