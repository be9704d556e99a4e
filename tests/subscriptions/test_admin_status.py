"""Staff cannot start mail that the subscriber did not agree to from the subscriber's
form: only the subscriber confirms or comes back, and a suppression is lifted by the
action that keeps an unsubscribe. A change page saves only what staff changed on it: a
page opened before the subscriber unsubscribed, came back, or changed their preferences
(or before a bounce suppressed them) keeps what they did, and a field both changed is
refused rather than overwritten."""

from __future__ import annotations

import html
import re

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from subscriptions.models import Interest, Subscriber
from subscriptions.services import subscriber_confirm, subscriber_unsubscribe
from subscriptions.suppressions import subscribers_suppress
from tests.factories import make_subscriber
from tests.helpers.adminforms import submitted

pytestmark = pytest.mark.django_db

ACTIVE = Subscriber.Status.ACTIVE


def change_page(subscriber: Subscriber) -> str:
    return reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])


def form_of(client, subscriber: Subscriber) -> dict[str, list[str]]:
    return submitted(client.get(change_page(subscriber)).content.decode())


def messages_of(client) -> str:
    return " ".join(str(m) for m in get_messages(client.get(reverse("admin:index")).wsgi_request))


def errors(response) -> str:
    found = re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", e)).strip() for e in found)


def test_a_page_opened_before_the_subscriber_unsubscribed_does_not_bring_them_back(
    admin_client,
):
    alice = make_subscriber("alice@example.org")
    data = form_of(admin_client, alice)  # the page, opened while she was active
    subscriber_unsubscribe(alice)
    data["paper_limit"] = ["7"]

    response = admin_client.post(change_page(alice), data)

    assert response.status_code == 302
    alice.refresh_from_db()
    assert (alice.status, alice.paper_limit) == (Subscriber.Status.UNSUBSCRIBED, 7)
    assert "changed after this page was opened" in messages_of(admin_client)


def test_a_page_opened_before_the_subscriber_came_back_does_not_unsubscribe_them(admin_client):
    alice = make_subscriber("alice@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    data = form_of(admin_client, alice)  # the page, opened while she was unsubscribed
    subscriber_confirm(alice)  # she signed up again and confirmed
    data["paper_limit"] = ["7"]

    assert admin_client.post(change_page(alice), data).status_code == 302

    alice.refresh_from_db()
    assert (alice.status, alice.paper_limit) == (ACTIVE, 7)


def test_a_page_keeps_the_preferences_the_subscriber_changed_meanwhile(admin_client):
    alice = make_subscriber("alice@example.org", send_hour=8)
    data = form_of(admin_client, alice)
    Subscriber.objects.filter(pk=alice.pk).update(send_hour=9, failure_count=2)
    data["paper_limit"] = ["7"]

    assert admin_client.post(change_page(alice), data).status_code == 302

    alice.refresh_from_db()
    assert (alice.send_hour, alice.failure_count, alice.paper_limit) == (9, 2, 7)


def test_a_field_changed_both_here_and_meanwhile_is_refused_not_overwritten(admin_client):
    alice = make_subscriber("alice@example.org", send_hour=8)
    data = form_of(admin_client, alice)
    Subscriber.objects.filter(pk=alice.pk).update(send_hour=9)
    data["send_hour"] = ["7"]
    data["paper_limit"] = ["7"]

    response = admin_client.post(change_page(alice), data)

    assert response.status_code == 200
    assert "changed since this page was opened" in errors(response)
    assert "09:00" in errors(response)
    alice.refresh_from_db()
    assert (alice.send_hour, alice.paper_limit) == (9, 10)


def test_a_page_keeps_the_interests_the_subscriber_changed_meanwhile(admin_client):
    alice = make_subscriber("alice@example.org", keywords=["parsing"], description="Parsers.")
    data = form_of(admin_client, alice)
    assert "initial-interest-0-categories" not in data  # none shown: no hidden input
    Interest.objects.filter(subscriber=alice).update(
        keywords=["parsing", "grammar induction"], categories=["cs.CL"]
    )
    data["paper_limit"] = ["7"]

    assert admin_client.post(change_page(alice), data).status_code == 302

    interest = Interest.objects.get(subscriber=alice)
    assert (interest.keywords, interest.categories) == (["parsing", "grammar induction"], ["cs.CL"])
    assert "Keywords (parsing, grammar induction)" in messages_of(admin_client)


def test_staff_and_the_subscriber_changing_different_interests_both_count(admin_client):
    alice = make_subscriber("alice@example.org", keywords=["parsing"], description="Parsers.")
    data = form_of(admin_client, alice)
    Interest.objects.filter(subscriber=alice).update(description="Grammar induction.")
    data["interest-0-keywords"] = ["parsing, treebanks"]

    assert admin_client.post(change_page(alice), data).status_code == 302

    interest = Interest.objects.get(subscriber=alice)
    assert (interest.keywords, interest.description) == (
        ["parsing", "treebanks"],
        "Grammar induction.",
    )


def test_an_interest_changed_both_here_and_meanwhile_is_refused(admin_client):
    alice = make_subscriber("alice@example.org", description="Parsers.")
    data = form_of(admin_client, alice)
    Interest.objects.filter(subscriber=alice).update(description="Grammar induction.")
    data["interest-0-description"] = ["Treebanks."]

    response = admin_client.post(change_page(alice), data)

    assert response.status_code == 200
    assert "“Grammar induction.”" in errors(response)
    assert Interest.objects.get(subscriber=alice).description == "Grammar induction."


def test_a_page_opened_before_a_bounce_does_not_lift_the_suppression(admin_client):
    alice = make_subscriber("alice@example.org")
    data = form_of(admin_client, alice)
    subscribers_suppress(Subscriber.objects.filter(pk=alice.pk), "hard bounce")

    assert admin_client.post(change_page(alice), data).status_code == 302

    alice.refresh_from_db()
    assert (alice.status, alice.suppressed_reason) == (Subscriber.Status.BOUNCED, "hard bounce")


def test_a_page_setting_active_after_a_bounce_is_refused(admin_client):
    alice = make_subscriber("alice@example.org", status=Subscriber.Status.UNSUBSCRIBED)
    data = form_of(admin_client, alice)
    subscribers_suppress(Subscriber.objects.filter(pk=alice.pk), "hard bounce")
    data["status"] = [ACTIVE]

    response = admin_client.post(change_page(alice), data)

    assert response.status_code == 200
    assert "Unsuppress" in errors(response)
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED


@pytest.mark.parametrize(
    ("status", "explained"),
    [
        (Subscriber.Status.UNSUBSCRIBED, "unsubscribed"),
        (Subscriber.Status.PENDING, "confirm"),
        (Subscriber.Status.BOUNCED, "Unsuppress"),
    ],
)
def test_staff_cannot_set_a_subscriber_active_by_hand(admin_client, status, explained):
    bob = make_subscriber("bob@example.org", status=status)
    data = form_of(admin_client, bob)
    data["status"] = [ACTIVE]

    response = admin_client.post(change_page(bob), data)

    assert response.status_code == 200
    assert explained in errors(response)
    bob.refresh_from_db()
    assert bob.status == status


def test_staff_can_still_stop_an_active_subscribers_mail_and_edit_them(admin_client):
    alice = make_subscriber("alice@example.org")
    data = form_of(admin_client, alice)
    data["paper_limit"] = ["7"]
    assert admin_client.post(change_page(alice), data).status_code == 302

    data["status"] = [Subscriber.Status.UNSUBSCRIBED]
    assert admin_client.post(change_page(alice), data).status_code == 302

    alice.refresh_from_db()
    assert (alice.status, alice.paper_limit) == (Subscriber.Status.UNSUBSCRIBED, 7)
