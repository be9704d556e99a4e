"""The cockpit's numbers: one day rolled up into DailyStat rows, and the series charts read.

A finished day is computed once (by the hourly `cockpit_watch` task, `manage.py
cockpit_rollup`, or the first dashboard view that misses it) and then only read. Today
and yesterday are computed live, but every query reads an indexed date range, never a
whole table.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Max, Min, Sum
from django.utils import timezone

from digest.models import Delivery, FetchRun, Paper, UpvoteSnapshot
from subscriptions.models import Feedback, Subscriber

from .models import DailyStat

# Metrics the rollup computes from the tables (a day's rows are replaced as a whole).
SIGNUPS, CONFIRMATIONS, UNSUBSCRIBES = "subs.signups", "subs.confirmations", "subs.unsubscribes"
STATUS = "subs.status"
DIGESTS = "digests"
PAPERS_NEW = "papers.new"
FEEDBACK = "feedback"
DONE = "rollup.done"
# Counters incremented as events arrive; the rollup never touches them.
BOUNCED, COMPLAINED = "mail.bounced", "mail.complained"
COUNTERS = (BOUNCED, COMPLAINED)

Key = tuple[str, str]

# Digests count under their own date, each reader's local date: those of a day go out until
# it is over in the westernmost time zone, hours after the site's midnight (a New York
# reader's 22:00 digest leaves at 03:00 UTC). So a day is read live until the day after it
# is over too, and rolled up only then: today and yesterday are live. East of UTC the next
# day starts before the site's (a Tokyo reader's 07:00 digest of the 26th leaves at 22:00
# UTC on the 25th): until the site's day catches up, such digests count with today, so
# that none already sent (or failed) is out of the operator's sight for hours.
LIVE_DAYS = 2


def last_final_day(today: date) -> date:
    """The latest day whose numbers no longer change, the newest a rollup stores."""
    return today - timedelta(days=LIVE_DAYS)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The day as an aware [start, end) range in the site's time zone."""
    zone = timezone.get_current_timezone()
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time.min, tzinfo=zone)


def _count_in(model, field_name: str, day: date) -> int:
    start, end = day_bounds(day)
    return model.objects.filter(**{f"{field_name}__gte": start, f"{field_name}__lt": end}).count()


def day_compute(
    day: date, *, with_status: bool, with_later_digests: bool = False
) -> dict[Key, int]:
    """Every computed metric of one day; each query reads one indexed range.
    `with_later_digests` (today, read live): the digests of the next date count too (no
    reader is more than a day ahead of UTC).

    The subscribers' status counts are a snapshot of now (no history is kept of a
    status), so they are taken only when the day being rolled is one of the last
    LIVE_DAYS + 1 days, and only of the subscribers who existed by the day's end (a late
    rollup of a day must not count this morning's sign-ups).
    """
    start, end = day_bounds(day)
    values: dict[Key, int] = {
        (SIGNUPS, ""): _count_in(Subscriber, "created_at", day),
        (CONFIRMATIONS, ""): _count_in(Subscriber, "confirmed_at", day),
        (UNSUBSCRIBES, ""): _count_in(Subscriber, "unsubscribed_at", day),
    }
    last = day + timedelta(days=1) if with_later_digests else day
    digests = (
        Delivery.objects.filter(digest_date__range=(day, last))
        .values("status")
        .annotate(n=Count("pk"))
    )
    values.update({(DIGESTS, row["status"]): row["n"] for row in digests.order_by()})
    runs = (
        FetchRun.objects.filter(started_at__gte=start, started_at__lt=end)
        .values("source__name")
        .annotate(n=Sum("new_count"))
        .order_by()
    )
    values.update({(PAPERS_NEW, row["source__name"] or "ad-hoc"): row["n"] for row in runs})
    signals = (
        Feedback.objects.filter(created_at__gte=start, created_at__lt=end)
        .values("signal")
        .annotate(n=Count("pk"))
        .order_by()
    )
    names: dict[int, str] = {Feedback.Signal.MORE: "more", Feedback.Signal.FEWER: "fewer"}
    values.update({(FEEDBACK, names[row["signal"]]): row["n"] for row in signals})
    if with_status:
        statuses = (
            Subscriber.objects.filter(created_at__lt=end)
            .values("status")
            .annotate(n=Count("pk"))
            .order_by()
        )
        values.update({(STATUS, row["status"]): row["n"] for row in statuses})
    return values


def day_store(day: date, *, today: date | None = None) -> dict[Key, int]:
    """Rolls one day up: replaces its computed rows, keeps its counters, marks it done."""
    today = today or timezone.localdate()
    values = day_compute(day, with_status=day >= last_final_day(today))
    values[(DONE, "")] = 1
    with transaction.atomic():
        DailyStat.objects.filter(day=day).exclude(metric__in=COUNTERS).delete()
        # Two views missing the same day may roll it up at once: the same numbers, so
        # whichever lands second simply finds them there.
        DailyStat.objects.bulk_create(
            [DailyStat(day=day, metric=m, key=k, value=v) for (m, k), v in values.items()],
            ignore_conflicts=True,
        )
    return values


def counter_add(metric: str, key: str = "", *, day: date | None = None, by: int = 1) -> None:
    """Adds to today's counter (a bounce, a complaint); safe under concurrent webhooks."""
    day = day or timezone.localdate()
    updated = DailyStat.objects.filter(day=day, metric=metric, key=key).update(
        value=F("value") + by
    )
    if updated:
        return
    try:
        with transaction.atomic():
            DailyStat.objects.create(day=day, metric=metric, key=key, value=by)
    except IntegrityError:  # Another webhook created the row first: add to it.
        DailyStat.objects.filter(day=day, metric=metric, key=key).update(value=F("value") + by)


def days_missing(first: date, last: date) -> list[date]:
    done = set(
        DailyStat.objects.filter(metric=DONE, day__gte=first, day__lte=last).values_list(
            "day", flat=True
        )
    )
    count = (last - first).days + 1
    return [d for d in (first + timedelta(days=n) for n in range(count)) if d not in done]


@dataclass
class Series:
    """Every metric over a run of days: `values[metric][key][i]` is day `days[i]`."""

    days: list[date]
    values: dict[str, dict[str, list[int]]] = field(default_factory=dict)

    def get(self, metric: str, key: str = "") -> list[int]:
        return self.values.get(metric, {}).get(key, [0] * len(self.days))

    def keys(self, metric: str) -> list[str]:
        return sorted(self.values.get(metric, {}))


def series_read(days: int = 14, *, today: date | None = None) -> Series:
    """The last `days` days (today included): stored rows for finished days (rolled up
    here first if a day was missed), live numbers for today and yesterday."""
    today = today or timezone.localdate()
    first = today - timedelta(days=days - 1)
    final = last_final_day(today)
    for missing in days_missing(first, final):
        day_store(missing, today=today)
    span = [first + timedelta(days=n) for n in range(days)]
    index = {day: n for n, day in enumerate(span)}
    grid: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0] * days))
    stored = DailyStat.objects.filter(day__gte=first, day__lte=today).exclude(metric=DONE)
    for day, metric, key, value in stored.values_list("day", "metric", "key", "value"):
        if day <= final or metric in COUNTERS:
            grid[metric][key][index[day]] = value
    for day in span[-LIVE_DAYS:]:  # each later than `final`
        live = day_compute(day, with_status=True, with_later_digests=day == today)
        for (metric, key), value in live.items():
            grid[metric][key][index[day]] = value
    return Series(span, {m: dict(keys) for m, keys in grid.items()})


@dataclass(frozen=True)
class PaperRow:
    pk: int
    arxiv_id: str
    title: str
    upvotes: int
    gained: int


def papers_most_upvoted(today: date | None = None, limit: int = 10) -> list[PaperRow]:
    """The week's papers with the most upvotes (announced in the last seven days)."""
    today = today or timezone.localdate()
    week = Paper.objects.filter(announced_on__gt=today - timedelta(days=7), upvotes__gt=0)
    rows = week.order_by("-upvotes", "arxiv_id").values_list(
        "pk", "arxiv_id", "title_text", "upvotes"
    )
    return [PaperRow(pk, arxiv_id, title, up, 0) for pk, arxiv_id, title, up in rows[:limit]]


def papers_rising(now: datetime | None = None, limit: int = 10) -> list[PaperRow]:
    """The papers that gained the most upvotes over the last seven days of snapshots."""
    now = now or timezone.now()
    gains = (
        UpvoteSnapshot.objects.filter(taken_at__gte=now - timedelta(days=7))
        .values("paper_id")
        .annotate(low=Min("upvotes"), high=Max("upvotes"))
        .annotate(gained=F("high") - F("low"))
        .filter(gained__gt=0)
        .order_by("-gained", "paper_id")[:limit]
    )
    rows = list(gains)
    papers = Paper.objects.in_bulk([g["paper_id"] for g in rows])
    return [
        PaperRow(p.pk, p.arxiv_id, p.title_text, p.upvotes, g["gained"])
        for g in rows
        if (p := papers.get(g["paper_id"]))
    ]
