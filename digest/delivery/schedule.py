"""The beat schedule, kept in django-celery-beat's tables so staff can change it.

The default is created after every migrate if missing; staff edits are never
overwritten. `send_ticks` reads when the send tick runs, as those tables say now: the
confirmed page's promise of a first digest follows it (planning.first_digest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.db import transaction
from django_celery_beat.models import CrontabSchedule, PeriodicTask

SEND_TICK_TASK = "digest.tasks.tick"
# Minutes between send ticks in the default schedule.
SEND_TICK_MINUTES = 5

DEFAULT_TASKS = [
    # Ingestion first: every hour, each source whose own interval (Source.fetch_every) is
    # up is pulled; arXiv rebuilds its feeds at midnight US Eastern (04:00/05:00 UTC).
    ("Ingest due sources", "digest.tasks.ingest_due", {"minute": "15", "hour": "*"}),
    # The send tick: each subscriber's digest goes out at their hour in their time zone.
    ("Send due digests", SEND_TICK_TASK, {"minute": f"*/{SEND_TICK_MINUTES}", "hour": "*"}),
    # The cockpit: yesterday's numbers rolled up once, every warning logged each hour.
    ("Cockpit watch", "digest.tasks.cockpit_watch", {"minute": "40", "hour": "*"}),
    # Answers queue their refit themselves; this sweep catches one whose task was lost
    # (a broker down at the time, a worker killed mid-task).
    ("Refit waiting learners", "digest.tasks.refit_requested_learners", {"minute": "*/10"}),
]


def ensure_default_schedule(**kwargs) -> None:
    with transaction.atomic():
        for name, task, crontab in DEFAULT_TASKS:
            if PeriodicTask.objects.filter(name=name).exists():
                continue
            schedule, _ = CrontabSchedule.objects.get_or_create(
                day_of_week="*", day_of_month="*", month_of_year="*", timezone="UTC", **crontab
            )
            PeriodicTask.objects.create(name=name, task=task, crontab=schedule)


# How far ahead a crontab tick is looked for: one that runs less than once a year (the
# 29th of February) is no schedule to promise a digest by.
_CRONTAB_HORIZON_DAYS = 366


@dataclass(frozen=True)
class SendTicks:
    """When beat runs the send tick, read from its tables as staff left them: the default
    schedule, an edited one, or none (the tick disabled, deleted or expired)."""

    entries: tuple[PeriodicTask, ...]
    now: datetime

    def next_at(self, moment: datetime) -> datetime | None:
        """The first run of the send tick at or after `moment`, in UTC; None when none is
        to come (or its schedule is a solar one, which no digest promise follows)."""
        runs = (_entry_run(entry, moment, self.now) for entry in self.entries)
        return min((run for run in runs if run is not None), default=None)


def send_ticks(now: datetime) -> SendTicks:
    """The send tick's schedule in force: every enabled entry that runs it. One query."""
    entries = PeriodicTask.objects.filter(task=SEND_TICK_TASK, enabled=True).select_related(
        "crontab", "interval", "clocked"
    )
    return SendTicks(tuple(entries), now)


def _entry_run(entry: PeriodicTask, moment: datetime, now: datetime) -> datetime | None:
    if entry.one_off:
        # Beat runs it once, at its first time from now on, then disables it.
        if entry.total_run_count:
            return None
        only = _run_from(entry, max(now, entry.start_time or now))
        return only if only is not None and only >= moment else None
    run = _run_from(entry, max(moment, entry.start_time or moment))
    if run is None or (entry.expires is not None and run >= entry.expires):
        return None
    return run


def _run_from(entry: PeriodicTask, moment: datetime) -> datetime | None:
    if entry.crontab is not None:
        return _crontab_run(entry.crontab, moment)
    if entry.interval is not None:
        # Beat runs it one period after its last run, and so on from there.
        every = entry.interval.schedule.run_every
        last = entry.last_run_at or entry.date_changed
        periods = max(1, math.ceil((moment - last) / every))
        return (last + periods * every).astimezone(UTC)
    if entry.clocked is not None:
        # Overdue, beat runs it at once.
        return max(entry.clocked.clocked_time, moment).astimezone(UTC)
    return None


def _crontab_run(crontab: CrontabSchedule, moment: datetime) -> datetime | None:
    """The crontab's first minute at or after `moment`, read in the crontab's own zone
    with celery's parsing and its rule (month, day of the month and weekday all match)."""
    cron = crontab.schedule
    zone = crontab.timezone
    start = moment.astimezone(zone).date()
    for days in range(_CRONTAB_HORIZON_DAYS):
        day = start + timedelta(days=days)
        if (
            day.month not in cron.month_of_year
            or day.day not in cron.day_of_month
            or day.isoweekday() % 7 not in cron.day_of_week  # celery counts Sunday as 0
        ):
            continue
        for hour in sorted(cron.hour):
            for minute in sorted(cron.minute):
                run = datetime.combine(day, time(hour, minute), tzinfo=zone).astimezone(UTC)
                if run >= moment:
                    return run
    return None
