"""Celery tasks: thin wrappers that load ids and call one service.

Beat runs `tick` often; it plans the due deliveries and fans them out in chunks. The
schedule lives in django-celery-beat's tables (see the data migration), so staff see
and change it in the admin.
"""

from __future__ import annotations

import logging
from datetime import UTC, timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from subscriptions import learners as learning

from . import selectors
from .cockpit import services as cockpit
from .delivery import planning, sending
from .ingest import passes
from .ingest import pipeline as ingest
from .models import Source
from .ranking import picking

log = logging.getLogger(__name__)


@shared_task(soft_time_limit=1800, time_limit=1900)
def ingest_all() -> int:
    return _prepare_if_new(passes.ingest_all())


@shared_task(soft_time_limit=1800, time_limit=1900)
def ingest_due() -> int:
    """Pulls each enabled source whose own interval is up; beat runs this every hour."""
    return _prepare_if_new(passes.ingest_due(timezone.now()))


def _prepare_if_new(runs) -> int:
    if any(run.new_count for run in runs):
        prepare_ranking.delay()
    return len(runs)


@shared_task(soft_time_limit=600, time_limit=660)
def prepare_ranking() -> int:
    """Encodes the vocabulary of today's pool ahead of the digests (`picking.prepare`)."""
    today = timezone.now().astimezone(UTC).date()
    pool = selectors.paper_pool(today - timedelta(days=settings.DIGEST_WINDOW_DAYS))
    return picking.prepare(pool)


@shared_task(soft_time_limit=600, time_limit=660)
def ingest_source(source_id: int) -> str:
    source = Source.objects.get(pk=source_id)
    return ingest.ingest_source(source).status


@shared_task(soft_time_limit=120, time_limit=150)
def tick() -> int:
    """Plans every digest due now and queues the claimable rows in chunks.

    Queuing the same ids twice (two beats, a tick while chunks still wait in the queue)
    is harmless: each row goes to whichever task claims it first, the other finds
    nothing to claim. Rows a chunk gave back wait for that chunk's retry, not the tick.
    """
    now = timezone.now()
    planning.plan_deliveries(now)
    ids = planning.claimable_delivery_ids(now)
    chunks = list(planning.chunked(ids, settings.DELIVERY_CHUNK_SIZE))
    for chunk in chunks:
        send_chunk.delay(chunk)
    return len(chunks)


# A live chunk renews its lease (delivery/lease.py); the hard limit ends a stuck one, and
# its rows go to another sender once their last renewal is a lease old.
SEND_SOFT_TIME_LIMIT = 420
SEND_TIME_LIMIT = 480


def backoff_seconds(retries: int) -> int:
    """30 s, 60 s, 120 s ... capped at an hour."""
    return min(30 * 2**retries, 3600)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=8,
    soft_time_limit=SEND_SOFT_TIME_LIMIT,
    time_limit=SEND_TIME_LIMIT,
)
def send_chunk(self, delivery_ids: list[int]) -> dict:
    try:
        report = sending.send_chunk(delivery_ids)
    except sending.TemporarySendError as exc:
        # The refused rows are pending again; this retry (or, once the retries run out,
        # a later tick) sends them. Sent rows are never claimed again.
        countdown = backoff_seconds(self.request.retries)
        log.warning("temporary send failure, retrying in %ss: %s", countdown, exc)
        raise self.retry(exc=exc, countdown=countdown) from exc
    return {"sent": report.sent, "empty": report.empty, "failed": report.failed}


@shared_task(soft_time_limit=300, time_limit=330)
def refit_learners(subscriber_ids: list[int]) -> int:
    """Refits the learners of subscribers whose answers changed (subscriptions.learners)."""
    return learning.learners_refit(subscriber_ids)


@shared_task(soft_time_limit=300, time_limit=330)
def refit_requested_learners() -> int:
    """Refits every learner waiting for it: the first batch here, the others as tasks of
    their own, spread over the send workers. Queued after answers, and swept by the beat."""
    batches = learning.requested_batches()
    for batch in batches[1:]:
        refit_learners.delay(batch)
    return learning.learners_refit(batches[0]) if batches else 0


def cockpit_watch() -> int:
    """Hourly: rolls up the finished days for the cockpit and logs what needs a person."""
    return len(cockpit.cockpit_watch())
