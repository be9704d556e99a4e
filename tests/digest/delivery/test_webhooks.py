"""An email service's bounce, complaint and rejection webhooks suppress the address; they
exist only when a service is configured, and answer only to its secret."""

import base64
import importlib
import json
from contextlib import contextmanager

import pytest
from anymail.signals import AnymailTrackingEvent, tracking
from django.contrib.admin.sites import site as admin_site
from django.test import override_settings
from django.urls import clear_url_caches

import digest.urls
from digest.delivery import sending
from subscriptions.models import Subscriber
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

URL = "/anymail/postmark/tracking/"
SECRET = "paperboy:a-long-random-webhook-secret"
HARD_BOUNCE = {
    "RecordType": "Bounce",
    "Type": "HardBounce",
    "Email": "alice@example.org",
    "MessageID": "883953f4-6105-42a2-a16a-77a8eac79483",
    "BouncedAt": "2026-11-23T09:00:01Z",
}


def basic_auth(secret: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Basic {base64.b64encode(secret.encode()).decode()}"}


@contextmanager
def urls_under(**overrides):
    """The real URLconf, built again as a process with these settings builds it."""
    try:
        with override_settings(**overrides):
            _rebuild_urls()
            yield
    finally:
        _rebuild_urls()


def _rebuild_urls() -> None:
    importlib.reload(digest.urls)
    clear_url_caches()


@pytest.fixture
def webhook_auth():
    """Postmark configured with a webhook secret; the credentials that open the webhook."""
    with urls_under(ANYMAIL_ESP="postmark", ANYMAIL={"WEBHOOK_SECRET": SECRET}):
        yield basic_auth(SECRET)


@pytest.fixture
def alice():
    return make_subscriber("Alice@Example.org", keywords=["distillation"])


def postmark(client, auth, **event):
    return postmark_like(client, URL, event, **auth)


def postmark_like(client, url: str, event: dict, **auth):
    return client.post(url, data=json.dumps(event), content_type="application/json", **auth)


def test_a_hard_bounce_suppresses_the_address(client, webhook_auth, alice):
    response = postmark(
        client,
        webhook_auth,
        RecordType="Bounce",
        Type="HardBounce",
        Email="alice@example.org",
        Description="The server was unable to deliver your message (ex: unknown user).",
        MessageID="883953f4-6105-42a2-a16a-77a8eac79483",
        BouncedAt="2026-11-23T09:00:01Z",
    )

    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED
    assert alice.suppressed_reason.startswith("Postmark: bounced (The server was unable")
    assert "unknown user" in alice.suppressed_reason


def test_a_spam_complaint_suppresses_the_address(client, webhook_auth, alice):
    postmark(
        client,
        webhook_auth,
        RecordType="SpamComplaint",
        Type="SpamComplaint",
        Email="alice@example.org",
        BouncedAt="2026-11-23T09:00:01Z",
    )

    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED
    assert "marked as spam" in alice.suppressed_reason


def test_a_delivery_or_a_temporary_problem_changes_nothing(client, webhook_auth, alice):
    postmark(client, webhook_auth, RecordType="Delivery", Recipient="alice@example.org")
    postmark(client, webhook_auth, RecordType="Bounce", Type="Transient", Email="alice@example.org")

    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE and alice.suppressed_reason == ""


@pytest.mark.parametrize(
    "credentials",
    [{}, basic_auth("paperboy:a-guessed-password")],
    ids=["no-credentials", "wrong-password"],
)
def test_a_webhook_without_the_secret_is_refused(client, webhook_auth, alice, credentials):
    response = postmark(client, credentials, **HARD_BOUNCE)

    assert response.status_code in (400, 401, 403)
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE and alice.suppressed_reason == ""


@pytest.mark.parametrize("debug", [False, True], ids=["production", "debug"])
@pytest.mark.parametrize("esp", ["postmark", "brevo", "sendgrid"])
def test_without_an_email_service_there_is_no_webhook_to_call(client, alice, esp, debug):
    with urls_under(ANYMAIL_ESP="", ANYMAIL={}, DEBUG=debug):
        response = postmark_like(client, f"/anymail/{esp}/tracking/", HARD_BOUNCE)

    assert response.status_code == 404
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE and alice.suppressed_reason == ""


def test_a_service_configured_without_a_secret_serves_no_webhook_in_production(client, alice):
    # The system check digest.E001 refuses this setup; a server started anyway (gunicorn
    # runs no checks) must still not let anyone suppress an address.
    with urls_under(ANYMAIL_ESP="postmark", ANYMAIL={}, DEBUG=False):
        response = postmark_like(client, URL, HARD_BOUNCE)

    assert response.status_code == 404
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


def test_a_rejection_from_any_service_suppresses_and_stops_the_next_digest(alice, mailoutbox):
    make_paper("Knowledge distillation for small language models")
    make_paper("Diffusion models for protein design")
    make_paper("A survey of graph neural networks")
    event = AnymailTrackingEvent(
        event_type="rejected", recipient="alice@example.org", reject_reason="blocked"
    )

    tracking.send(sender=object, event=event, esp_name="sendgrid")
    report = sending.send_due(everyone=True)

    alice.refresh_from_db()
    assert alice.suppressed_reason == "sendgrid: rejected (blocked)"
    assert report.planned == 0 and mailoutbox == []


def test_staff_see_why_an_address_was_suppressed():
    admin = admin_site._registry[Subscriber]

    shown = [*admin.list_display, *admin.readonly_fields, *(admin.fields or ())]
    fields = {f for fieldset in admin.get_fieldsets(None) for f in fieldset[1]["fields"]}

    assert "suppressed_reason" in shown or "suppressed_reason" in fields
