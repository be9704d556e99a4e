"""Celery tasks of the subscription side: thin, an address in, one service call."""

from __future__ import annotations

from celery import shared_task

from digest.sources.base import IngestError

from . import examples, services


# The page answers before the lookup and the mail, so how long it takes tells nobody
# whether the address is known (issue 12); a mail server's hiccup is retried here.
@shared_task(
    soft_time_limit=60,
    time_limit=90,
    autoretry_for=(OSError,),
    retry_backoff=30,
    max_retries=3,
)
def subscriber_request_link(email: str) -> None:
    """Mails a preferences link if the address is known (services.subscriber_request_link)."""
    services.subscriber_request_link(email)


# Papers pasted as examples that arXiv did not send while the page waited: asked again
# with the pulls' patience, over about an hour, then given up (the log says which).
@shared_task(
    soft_time_limit=900,
    time_limit=960,
    autoretry_for=(IngestError,),
    retry_backoff=60,
    retry_backoff_max=1200,
    max_retries=6,
)
def examples_fetch(subscriber_id: int, arxiv_ids: list[str]) -> list[str]:
    """Records the pasted papers once arXiv sends them (examples.examples_fetch_later)."""
    return examples.examples_fetch_later(subscriber_id, arxiv_ids)
