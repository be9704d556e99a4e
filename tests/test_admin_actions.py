"""The operators' actions: each asks first, needs the change permission, and is recorded."""

from __future__ import annotations

import logging

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from digest.models import Delivery, Source
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_unsubscribe
from tests.factories import make_subscriber

pytestmark = pytest.mark.django_db

SUBSCRIBERS = reverse("admin:subscriptions_subscriber_changelist")


def act(client, url: str, action: str, rows, *, confirm: bool = True):
    data = {"action": action, "_selected_action": [row.pk for row in rows]}
    if confirm:
        data["confirm"] = "yes"
    return client.post(url, data)


@pytest.fixture
def viewer(client):
    """Staff who may look at subscribers and deliveries but change nothing."""
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_subscriber", "view_delivery", "view_source"])
    )
    client.force_login(user)
    return client


@pytest.fixture
def alice():
    return make_subscriber("alice@example.org")


def test_suppressing_asks_first_and_changes_nothing_until_confirmed(admin_client, alice):
    page = act(admin_client, SUBSCRIBERS, "suppress", [alice], confirm=False)
    assert page.status_code == 200
    assert "Suppress these addresses?" in page.content.decode()
    assert "alice@example.org" in page.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


def test_suppress_then_unsuppress_is_recorded_in_the_history_and_logs(admin_client, alice, caplog):
    with caplog.at_level(logging.INFO, logger="digest.admin"):
        act(admin_client, SUBSCRIBERS, "suppress", [alice])
        alice.refresh_from_db()
        assert alice.status == Subscriber.Status.BOUNCED
        act(admin_client, SUBSCRIBERS, "unsuppress", [alice])
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert alice.suppressed_reason == ""
    history = [e.change_message for e in LogEntry.objects.order_by("pk")]
    assert history == ["suppressed (admin action)", "unsuppressed (admin action)"]
    assert "admin action by admin: suppressed" in caplog.text


def test_unsuppress_leaves_unsubscribed_people_alone(admin_client):
    gone = make_subscriber("gone@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    act(admin_client, SUBSCRIBERS, "unsuppress", [gone])
    gone.refresh_from_db()
    assert gone.status == Subscriber.Status.UNSUBSCRIBED


def test_unsuppress_keeps_an_unsubscribe_and_says_so(admin_client, alice):
    dora = make_subscriber("dora@example.org")
    subscriber_unsubscribe(alice)
    act(admin_client, SUBSCRIBERS, "suppress", [alice, dora])
    assert (
        "those who unsubscribed"
        in act(
            admin_client, SUBSCRIBERS, "unsuppress", [alice, dora], confirm=False
        ).content.decode()
    )

    response = act(admin_client, SUBSCRIBERS, "unsuppress", [alice, dora])

    statuses = dict(Subscriber.objects.values_list("email", "status"))
    assert statuses == {"alice@example.org": "unsubscribed", "dora@example.org": "active"}
    [message] = [m.message for m in get_messages(response.wsgi_request)]
    assert message == "2 subscribers unsuppressed: 1 active again, 1 still unsubscribed."


def test_staff_without_the_change_permission_cannot_suppress(viewer, alice):
    response = act(viewer, SUBSCRIBERS, "suppress", [alice])
    assert response.status_code in (200, 302)
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert not LogEntry.objects.exists()


def test_resend_today_queues_a_new_digest_for_one_subscriber(admin_client, alice):
    act(admin_client, SUBSCRIBERS, "resend_today", [alice])
    delivery = Delivery.objects.get(subscriber=alice)
    assert delivery.status == Delivery.Status.PENDING
    assert delivery.digest_date == timezone.now().astimezone(alice.tz).date()
    assert LogEntry.objects.get().change_message.startswith("today's digest")


def test_resend_today_puts_a_sent_digest_back_in_the_queue(admin_client, alice):
    today = timezone.now().astimezone(alice.tz).date()
    Delivery.objects.create(subscriber=alice, digest_date=today, status="sent", attempts=1)
    act(admin_client, SUBSCRIBERS, "resend_today", [alice])
    delivery = Delivery.objects.get(subscriber=alice)
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_resend_today_refuses_several_subscribers_at_once(admin_client, alice):
    bob = make_subscriber("bob@example.org")
    response = act(admin_client, SUBSCRIBERS, "resend_today", [alice, bob])
    assert response.status_code == 302
    assert not Delivery.objects.exists()


def test_resend_today_refuses_a_suppressed_address(admin_client):
    gone = make_subscriber("gone@example.org", status=Subscriber.Status.BOUNCED)
    act(admin_client, SUBSCRIBERS, "resend_today", [gone])
    assert not Delivery.objects.exists()


def test_resend_today_needs_the_change_permission(viewer, alice):
    act(viewer, SUBSCRIBERS, "resend_today", [alice])
    assert not Delivery.objects.exists()


def test_resending_a_delivery_needs_its_change_permission(viewer, alice):
    delivery = Delivery.objects.create(subscriber=alice, digest_date="2026-11-20", status="sent")
    act(viewer, reverse("admin:digest_delivery_changelist"), "resend", [delivery])
    delivery.refresh_from_db()
    assert delivery.status == "sent"


def test_refetching_a_source_asks_first_and_needs_the_permission(admin_client, viewer):
    source = Source.objects.create(name="cs.RO", kind="arxiv-rss", url="https://a.test/ro")
    url = reverse("admin:digest_source_changelist")
    page = act(admin_client, url, "run_now", [source], confirm=False)
    assert "Re-fetch these sources now?" in page.content.decode()
    assert not source.runs.exists()

    act(viewer, url, "run_now", [source])
    assert not source.runs.exists()
    assert not LogEntry.objects.exists()


def test_deliveries_and_fetch_runs_are_read_only(admin_client, alice):
    delivery = Delivery.objects.create(subscriber=alice, digest_date="2026-11-20")
    assert admin_client.get(reverse("admin:digest_delivery_add")).status_code == 403
    page = admin_client.get(reverse("admin:digest_delivery_changelist")).content.decode()
    assert "Add delivery" not in page
    change = admin_client.get(reverse("admin:digest_delivery_change", args=[delivery.pk]))
    assert 'type="submit" value="Save"' not in change.content.decode()
    assert admin_client.get(reverse("admin:digest_fetchrun_add")).status_code == 403
