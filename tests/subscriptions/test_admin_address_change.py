"""When staff change a subscriber's address, the links mailed to the old one stop
working: whoever reads the old mailbox (a former employer, the next owner of a recycled
address) must not open the preferences of the new one, export its data, delete it or
stop its mail. A change of case only (the same mailbox) keeps them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.delivery.links import feed_token
from subscriptions import tokens
from subscriptions.models import Subscriber
from tests.helpers.adminforms import submitted
from tests.helpers.links import feedback_path, unsubscribe_path

pytestmark = pytest.mark.django_db


def change_address(client, subscriber: Subscriber, email: str):
    url = reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])
    data = submitted(client.get(url).content.decode())
    data["email"] = [email]
    return client.post(url, data, follow=True)


def mailed_links(subscriber: Subscriber) -> list[str]:
    preferences = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return [
        reverse("subscriptions:preferences", args=[preferences]),
        reverse("subscriptions:my_data", args=[preferences]),
        unsubscribe_path(subscriber),
        feedback_path(subscriber, "2501.00001", 1),
        reverse("digest:feed", args=[feed_token(subscriber)]),
    ]


def test_links_mailed_to_the_old_address_stop_working(admin_client, client, alice, paper):
    old = mailed_links(alice)
    response = change_address(admin_client, alice, "alice@new.example")
    for path in old:
        if not path.endswith("/my-data/"):  # a GET there leads to the preferences page
            assert client.get(path).status_code in (400, 404), path
        assert client.post(path).status_code in (400, 404), path
    said = [str(m) for m in response.context["messages"]]
    assert any("every link mailed to the old address" in m for m in said), said
    alice.refresh_from_db()
    assert alice.email == "alice@new.example"
    assert alice.status == Subscriber.Status.ACTIVE
    assert alice.feedback.count() == 0
    # The new address's links work.
    for path in mailed_links(alice)[:1]:
        assert client.get(path).status_code == 200


def test_a_change_of_case_keeps_the_links(admin_client, client, alice):
    old = mailed_links(alice)[0]
    change_address(admin_client, alice, "Alice@example.org")
    alice.refresh_from_db()
    assert alice.email == "Alice@example.org"
    assert client.get(old).status_code == 200


def test_an_edit_that_keeps_the_address_keeps_the_links(admin_client, client, alice):
    old = mailed_links(alice)[0]
    url = reverse("admin:subscriptions_subscriber_change", args=[alice.pk])
    data = submitted(admin_client.get(url).content.decode())
    data["paper_limit"] = ["7"]
    assert admin_client.post(url, data).status_code == 302
    assert client.get(old).status_code == 200
