"""HEAD, as link checkers and mail scanners send it: answered like GET, without a body,
and changing nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse

from digest.models import Delivery
from subscriptions import tokens
from subscriptions.models import Feedback, Subscriber

pytestmark = pytest.mark.django_db


def page_paths(alice: Subscriber, bob: Subscriber) -> list[str]:
    preferences = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    return [
        reverse("subscriptions:signup"),
        reverse("subscriptions:request_link"),
        reverse("subscriptions:confirm", args=[tokens.make_token(bob, tokens.Purpose.CONFIRM)]),
        reverse("subscriptions:preferences", args=[preferences]),
        reverse("subscriptions:suggestions", args=[preferences]),
        reverse("subscriptions:reading", args=[preferences]),
        reverse("subscriptions:delete", args=[preferences]),
        reverse(
            "subscriptions:unsubscribe", args=[tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)]
        ),
        tokens.feedback_url(alice, "2501.00001", 1).removeprefix("http://testserver"),
    ]


def test_every_page_answers_head_like_get_without_a_body(client, alice, bob, paper):
    for path in page_paths(alice, bob):
        got = client.get(path)
        head = client.head(path)

        assert (path, head.status_code) == (path, got.status_code)
        assert got.status_code == 200
        assert head["Content-Type"] == got["Content-Type"]
        assert head.content == b""


def test_head_changes_nothing(client, alice, bob, paper):
    for path in page_paths(alice, bob):
        client.head(path)

    alice.refresh_from_db()
    bob.refresh_from_db()
    assert (alice.status, bob.status) == (Subscriber.Status.ACTIVE, Subscriber.Status.PENDING)
    assert bob.confirmed_at is None
    assert not Feedback.objects.exists()
    assert not Delivery.objects.exists()


def test_the_undo_link_after_unsubscribing_answers_head_and_does_not_resubscribe(client, alice):
    client.post(
        reverse(
            "subscriptions:unsubscribe", args=[tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)]
        )
    )
    alice.refresh_from_db()
    undo = tokens.make_token(alice, tokens.Purpose.RESUBSCRIBE, extra=tokens.consent_mark(alice))
    path = reverse("subscriptions:resubscribe", args=[undo])

    assert client.head(path).status_code == 200
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


def test_the_addresses_forms_post_to_lead_to_their_page_when_opened(client, alice):
    # A page a plain form answered (pasted papers without JavaScript) reloaded, bookmarked
    # or opened again: the page the form was on, not an empty "405 Method Not Allowed".
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    papers = reverse("subscriptions:suggestions", args=[token])
    preferences = reverse("subscriptions:preferences", args=[token])
    expected = {
        "examples": papers + "#examples",
        "answer": papers,
        "feedback_undo": preferences + "#feedback",
        "preview": preferences + "#preview-title",
        "my_data": preferences + "#data-title",
    }
    for name, page in expected.items():
        path = reverse(f"subscriptions:{name}", args=[token])
        for method in (client.get, client.head):
            response = method(path)

            assert (name, response.status_code, response["Location"]) == (name, 302, page)
        assert client.get(path, follow=True).status_code == 200
    assert not Feedback.objects.exists()
