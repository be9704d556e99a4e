"""Celery tasks of the subscription side: thin, an address in, one service call."""

from __future__ import annotations

from celery import shared_task

from . import services


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
