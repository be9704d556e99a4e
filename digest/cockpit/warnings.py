"""What needs a person: each check reads a few indexed rows and says what to do.

Shown at the top of the dashboard, and logged (level WARNING) by the hourly
`cockpit_watch` task and `manage.py cockpit_rollup`, so an alert on the logs sees them too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.conf import settings
from django.core import checks as django_checks
from django.db.models import Count, Max, Min, Model, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from digest.models import Delivery, FetchRun, Paper, Source
from digest.ops import checks
from subscriptions.models import RefitRequest, Subscriber

from . import stats

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Alert:
    code: str
    message: str
    link: str = ""


def _changelist(model: type[Model], query: str = "") -> str:
    meta = model._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
    return f"{url}?{query}" if query else url


def sources_failing(now: datetime) -> list[Alert]:
    """An enabled source whose last N runs all failed (N = COCKPIT_FAILED_RUNS)."""
    runs = settings.COCKPIT_FAILED_RUNS
    alerts = []
    for source in Source.objects.filter(enabled=True).only("pk", "name"):
        last = list(
            FetchRun.objects.filter(source=source)
            .order_by("-started_at")
            .values_list("status", "error")[:runs]
        )
        if len(last) == runs and all(status == FetchRun.Status.FAILED for status, _ in last):
            error = (last[0][1].splitlines() or ["no error recorded"])[0][:160]
            alerts.append(
                Alert(
                    "source-failing",
                    f"Source “{source.name}” failed its last {runs} runs (latest: {error}).",
                    _changelist(FetchRun, f"source__id__exact={source.pk}"),
                )
            )
    return alerts


# Longer than any pull may take (the ingest tasks' hard limit is about half an hour).
RUNS_FINISH_WITHIN = timedelta(hours=1)


def fetch_runs_unfinished(now: datetime) -> list[Alert]:
    """Sources whose last run is still "running" an hour after it started: its worker was
    killed (a time limit, memory, a restart) or the database was locked as it ended.
    Its papers are kept whole or not at all (one transaction); the source is pulled again
    on its schedule, but until then its last run reads as running. One query, through the
    runs' per-source index."""
    last = FetchRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
    stuck = list(
        Source.objects.annotate(
            last_status=Subquery(last.values("status")[:1]),
            last_started=Subquery(last.values("started_at")[:1]),
        )
        .filter(last_status=FetchRun.Status.RUNNING, last_started__lt=now - RUNS_FINISH_WITHIN)
        .order_by("-last_started")
        .values_list("name", "last_started")
    )
    if not stuck:
        return []
    name, started_at = stuck[0]
    started = timezone.localtime(started_at)
    runs = "1 source's last fetch run" if len(stuck) == 1 else f"{len(stuck)} sources' last runs"
    return [
        Alert(
            "fetch-runs-unfinished",
            f"{runs} started over an hour ago and never finished (the latest: “{name}” at "
            f"{started:%H:%M} on {started:%A %d %B}): was its worker killed, or the database "
            "locked? Its papers were kept whole or not at all; the source is pulled again "
            "on its schedule.",
            _changelist(FetchRun, "status__exact=running"),
        )
    ]


def weekdays_without_papers(now: datetime) -> list[Alert]:
    """A weekday of the last week (today excluded: its listing may still come) that got
    no new papers at all: arXiv announces every weekday, so a gap means ingestion broke.

    Only days from the first day with papers count: before it the service did not exist
    (a fresh install has only the snapshot, announced on the day it was loaded), so those
    days are no gap. The message says how fresh the papers are and when a pull last
    succeeded, which tells a stopped schedule from a source that brings nothing."""
    today = timezone.localdate(now)
    known = Paper.objects.aggregate(first=Min("announced_on"), newest=Max("announced_on"))
    first, newest = known["first"], known["newest"]
    if first is None:
        return []
    days = [today - timedelta(days=n) for n in range(1, 8)]
    weekdays = [d for d in days if d.weekday() < 5 and d >= first]
    seen = set(
        Paper.objects.filter(announced_on__in=weekdays)
        .values_list("announced_on", flat=True)
        .distinct()
        .order_by()
    )
    missing = sorted(set(weekdays) - seen)
    if not missing:
        return []
    names = ", ".join(f"{day:%A %d %B}" for day in missing)
    return [
        Alert(
            "weekday-without-papers",
            f"No new papers were announced on {names} ({_freshness(newest)}): check the "
            "sources' fetch runs.",
            _changelist(FetchRun),
        )
    ]


def _freshness(newest: date) -> str:
    pulled = (
        FetchRun.objects.filter(status__in=[FetchRun.Status.OK, FetchRun.Status.NOT_MODIFIED])
        .exclude(finished_at=None)
        .order_by("-finished_at")
        .values_list("finished_at", flat=True)
        .first()
    )
    if pulled is None:
        return f"the newest are from {newest:%A %d %B}, and no pull of a source has succeeded yet"
    local = timezone.localtime(pulled)
    return (
        f"the newest are from {newest:%A %d %B}, and the latest successful pull finished "
        f"on {local:%A %d %B} at {local:%H:%M}"
    )


def mail_rates(now: datetime) -> list[Alert]:
    """Today's (or, early in the day, yesterday's) failure and bounce rates over their
    thresholds, once enough digests were tried for a rate to mean something. Today's
    digests include those already sent for tomorrow's date, east of UTC (as the cockpit's
    chart counts them: `stats.LIVE_DAYS`)."""
    alerts = []
    today = timezone.localdate(now)
    for day in (today, today - timedelta(days=1)):
        last = day + timedelta(days=1) if day == today else day
        outcomes = dict(
            Delivery.objects.filter(digest_date__range=(day, last), status__in=["sent", "failed"])
            .values_list("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        sent, failed = outcomes.get("sent", 0), outcomes.get("failed", 0)
        tried = sent + failed
        if tried < settings.COCKPIT_MIN_TRIED:
            continue
        bounced = sum(
            stats.DailyStat.objects.filter(day=day, metric__in=stats.COUNTERS).values_list(
                "value", flat=True
            )
        )
        after = last + timedelta(days=1)
        link = _changelist(
            Delivery, f"digest_date__gte={day}&digest_date__lt={after}&status__exact=failed"
        )
        if failed / tried > settings.COCKPIT_FAILURE_RATE:
            alerts.append(
                Alert(
                    "failure-rate",
                    f"{failed} of {tried} digests failed on {day} ({failed / tried:.1%}, "
                    f"threshold {settings.COCKPIT_FAILURE_RATE:.0%}).",
                    link,
                )
            )
        if bounced / tried > settings.COCKPIT_BOUNCE_RATE:
            alerts.append(
                Alert(
                    "bounce-rate",
                    f"{bounced} bounces and complaints for {tried} digests on {day} "
                    f"({bounced / tried:.1%}, threshold {settings.COCKPIT_BOUNCE_RATE:.0%}).",
                    _changelist(Subscriber, "status__exact=bounced"),
                )
            )
        break
    return alerts


def deliveries_stuck(now: datetime) -> list[Alert]:
    """Rows claimed longer ago than the lease (a worker died, and no tick took them over),
    and rows still pending with all DELIVERY_MAX_ATTEMPTS claims used (the next claim
    marks them failed: if they stay pending, nothing is claiming)."""
    lease_start = now - timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)
    stuck = Delivery.objects.filter(
        status=Delivery.Status.SENDING, claimed_at__lt=lease_start
    ).count()
    worn = Delivery.objects.filter(
        status=Delivery.Status.PENDING, attempts__gte=settings.DELIVERY_MAX_ATTEMPTS
    ).count()
    alerts = []
    if stuck:
        alerts.append(
            Alert(
                "deliveries-stuck",
                f"{stuck} deliveries are claimed past their {settings.DELIVERY_LEASE_SECONDS} s "
                "lease: is the beat/tick running?",
                _changelist(Delivery, "status__exact=sending"),
            )
        )
    if worn:
        alerts.append(
            Alert(
                "attempts-used-up",
                f"{worn} digests are still pending with all {settings.DELIVERY_MAX_ATTEMPTS} "
                "attempts used: the mail server kept refusing them, and no send tick has "
                "marked them failed since. Is beat running?",
                _changelist(Delivery, "status__exact=pending"),
            )
        )
    return alerts


# A due digest goes out within minutes (beat's tick runs every five); one still pending an
# hour after it was planned (or resent) is held by something: the mail server, the
# workers or beat.
DIGESTS_WAIT_AT_MOST = timedelta(hours=1)


def digests_waiting(now: datetime) -> list[Alert]:
    """Digests planned or requeued (resent, a cancelled day planned again) over an hour
    ago and still pending, with tries left (those without are "attempts-used-up"), and
    the reason recorded on the one tried last: a mail server that is down or refusing
    leaves its answer on the rows it could not take."""
    waiting = Delivery.objects.alias(waiting_since=Coalesce("requeued_at", "created_at")).filter(
        status=Delivery.Status.PENDING,
        waiting_since__lt=now - DIGESTS_WAIT_AT_MOST,
        attempts__lt=settings.DELIVERY_MAX_ATTEMPTS,
    )
    count = waiting.count()
    if not count:
        return []
    reason = (
        waiting.exclude(error="").order_by("-claimed_at").values_list("error", flat=True).first()
    )
    held = (
        f"the latest reason: {reason.splitlines()[0][:200]}"
        if reason
        else "none was given back with a reason: are the send workers and beat running?"
    )
    digests = "1 digest has" if count == 1 else f"{count} digests have"
    return [
        Alert(
            "digests-waiting",
            f"{digests} waited over an hour to be sent; {held}",
            _changelist(Delivery, "status__exact=pending"),
        )
    ]


def learners_waiting(now: datetime) -> list[Alert]:
    """Refit requests older than an hour: the debounced refit runs within a minute and the
    beat's sweep every ten, so nothing is taking them (or the encoder is missing)."""
    waiting = RefitRequest.objects.filter(requested_at__lt=now - timedelta(hours=1)).count()
    if not waiting:
        return []
    return [
        Alert(
            "learners-waiting",
            f"{waiting} subscribers' answers have waited over an hour for their learner's "
            "refit: are the send workers and beat running, with the sentence encoder?",
        )
    ]


def deployment(now: datetime) -> list[Alert]:
    """The deploy checks an operator must act on: W001 (a per-process cache with a
    shared database), W002 (no sentence encoder) and W004 (the ranking's glossary
    unreadable)."""
    found = [
        *checks.shared_cache_for_a_shared_database(None),
        *checks.sentence_encoder_installed(None),
        *checks.ranking_glossary_readable(None),
    ]
    return [
        Alert(f"check-{m.id}", f"{m.msg} {m.hint or ''}".strip())
        for m in found
        if m.level >= django_checks.WARNING
    ]


CHECKS: list[Callable[[datetime], list[Alert]]] = [
    sources_failing,
    fetch_runs_unfinished,
    weekdays_without_papers,
    mail_rates,
    deliveries_stuck,
    digests_waiting,
    learners_waiting,
    deployment,
]


def alerts_collect(now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    return [alert for check in CHECKS for alert in check(now)]


def alerts_log(alerts: list[Alert]) -> None:
    for alert in alerts:
        log.warning("cockpit: %s", alert.message, extra={"alert": alert.code})
