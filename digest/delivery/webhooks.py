"""What an email service tells us about delivered mail (django-anymail tracking webhooks).

A bounce, a spam complaint or a rejection suppresses the address: no more digests go to
it, and the admin shows why (Subscriber.suppressed_reason). The webhook URLs exist only
when ANYMAIL_ESP names a service (digest/urls.py); with DEBUG off they also need
ANYMAIL_WEBHOOK_SECRET, without which the system check digest.E001 refuses to run and the
URLs are not served. Anymail then checks each request's basic-auth credentials against
that secret (and, for some services, their signature) before this receiver runs.
The module is imported by digest/urls.py, next to the webhook URLs, so the receiver is
connected in every process that can receive a webhook.
"""

from __future__ import annotations

import logging

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver

from digest.cockpit import stats
from subscriptions.suppressions import subscriber_suppress

log = logging.getLogger(__name__)

SUPPRESSING = {
    EventType.BOUNCED: "bounced",
    EventType.COMPLAINED: "marked as spam",
    EventType.REJECTED: "rejected",
}


@receiver(tracking, dispatch_uid="paperboy.digest.suppress_on_tracking")
def suppress_on_tracking(sender, event: AnymailTrackingEvent, esp_name: str, **kwargs) -> None:
    what = SUPPRESSING.get(event.event_type)
    if what is None or not event.recipient:
        return
    parts = (event.reject_reason, event.description, event.mta_response)
    detail = " ".join(str(p) for p in parts if p and p != event.event_type)
    reason = f"{esp_name}: {what}" + (f" ({detail})" if detail else "")
    count = subscriber_suppress(event.recipient, reason)
    # Counted for the cockpit's bounce and complaint rates (no other record keeps them).
    stats.counter_add(
        stats.COMPLAINED if event.event_type == EventType.COMPLAINED else stats.BOUNCED
    )
    log.info("suppressed %s subscriber(s) after a %s event", count, event.event_type)
