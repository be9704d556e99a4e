"""The cockpit's writes: the hourly watch that rolls finished days up and logs warnings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.utils import timezone

from . import stats, warnings


def stats_rollup(days: int = 14, *, force: bool = False, today: date | None = None) -> list[date]:
    """Rolls up the `days` latest finished days (`stats.last_final_day` and before; only
    the missing ones unless `force`); returns the days written. Idempotent: a second run
    writes nothing."""
    today = today or timezone.localdate()
    last = stats.last_final_day(today)
    first = last - timedelta(days=days - 1)
    todo = (
        [first + timedelta(days=n) for n in range(days)]
        if force
        else stats.days_missing(first, last)
    )
    for day in todo:
        stats.day_store(day, today=today)
    return todo


def cockpit_watch(now: datetime | None = None) -> list[warnings.Alert]:
    """Beat's hourly look: each day rolled up once it is final, every warning logged."""
    now = now or timezone.now()
    stats_rollup(today=timezone.localdate(now))
    alerts = warnings.alerts_collect(now)
    warnings.alerts_log(alerts)
    return alerts
