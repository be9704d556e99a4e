"""What the dashboard shows: the charts built from the rolled-up series, and the sources'
last runs. Read-only; every query here reads an index or a handful of rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db.models import OuterRef, Subquery

from digest.models import FetchRun, Source
from subscriptions.models import Subscriber

from . import stats
from .charts import Chart

STATUSES = [s.value for s in Subscriber.Status]


def _ratio(part: list[int], whole: list[int]) -> list[float]:
    return [p / w if w else 0.0 for p, w in zip(part, whole, strict=True)]


def _digests_chart(series: stats.Series) -> Chart:
    pending, sending = series.get(stats.DIGESTS, "pending"), series.get(stats.DIGESTS, "sending")
    return Chart(
        "digests",
        "Digests sent, empty, failed and waiting per day",
        series.days,
        {
            **{name: series.get(stats.DIGESTS, name) for name in ("sent", "empty", "failed")},
            # Planned and not yet sent: today's still to come, or held (see the cockpit's
            # "digests-waiting" warning); for a finished day, never sent at all.
            "waiting": [p + s for p, s in zip(pending, sending, strict=True)],
        },
        kind="bars",
    )


def charts_build(series: stats.Series) -> list[Chart]:
    """The dashboard's charts, in the order an operator reads them."""
    days = series.days
    sent, failed = series.get(stats.DIGESTS, "sent"), series.get(stats.DIGESTS, "failed")
    tried = [s + f for s, f in zip(sent, failed, strict=True)]
    sources = series.keys(stats.PAPERS_NEW)
    return [
        Chart(
            "subscriber-events",
            "Sign-ups, confirmations, unsubscribes and bounces per day",
            days,
            {
                "sign-ups": series.get(stats.SIGNUPS),
                "confirmations": series.get(stats.CONFIRMATIONS),
                "unsubscribes": series.get(stats.UNSUBSCRIBES),
                "bounces": series.get(stats.BOUNCED),
            },
        ),
        Chart(
            "subscribers-by-status",
            "Subscribers by status (as counted at each day's end)",
            days,
            {status: series.get(stats.STATUS, status) for status in STATUSES},
            kind="bars",
        ),
        _digests_chart(series),
        Chart(
            "mail-rates",
            "Failure, bounce and complaint rates (of digests tried)",
            days,
            {
                "failed": _ratio(failed, tried),
                "bounced": _ratio(series.get(stats.BOUNCED), tried),
                "complained": _ratio(series.get(stats.COMPLAINED), tried),
            },
            unit="%",
        ),
        Chart(
            "papers",
            "New papers per source per day",
            days,
            {name: series.get(stats.PAPERS_NEW, name) for name in sources},
            kind="bars",
        ),
        Chart(
            "feedback",
            "Feedback received per day (more like this / fewer like this)",
            days,
            {name: series.get(stats.FEEDBACK, name) for name in ("more", "fewer")},
            kind="bars",
        ),
    ]


@dataclass(frozen=True)
class SourceState:
    pk: int
    name: str
    enabled: bool
    last_status: str | None
    last_started: datetime | None
    last_new: int | None
    last_error: str


def sources_last_run() -> list[SourceState]:
    """Each source with its last fetch run, in one query (the runs' per-source index)."""
    last = FetchRun.objects.filter(source=OuterRef("pk")).order_by("-started_at")
    rows = Source.objects.annotate(
        last_status=Subquery(last.values("status")[:1]),
        last_started=Subquery(last.values("started_at")[:1]),
        last_new=Subquery(last.values("new_count")[:1]),
        last_error=Subquery(last.values("error")[:1]),
    ).order_by("name")
    return [
        SourceState(
            s.pk, s.name, s.enabled, s.last_status, s.last_started, s.last_new, s.last_error or ""
        )
        for s in rows
    ]
