"""The papers step's links (the list of papers, an answer, pasted examples) take the
preferences link's token, with the same checks as the preferences page: a bad, expired,
foreign or orphaned token opens nothing and offers a fresh link; any status opens them,
as it opens the preferences page (an unsubscribed or suppressed subscriber can still
tell us what they like)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone

from subscriptions import suppressions, tokens
from subscriptions.models import Feedback, Subscriber
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

# Each view, and what it is sent: the list is opened, an answer and examples are posted.
VIEWS = {
    "suggestions": ("get", {}),
    "answer": ("post", {"signal": "1", "next": "suggestions"}),
    "examples": ("post", {"examples": "", "next": "suggestions"}),
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def paper():
    return make_paper("Distillation of small language models")


def open_view(client, name: str, token: str, paper):
    method, data = VIEWS[name]
    if name == "answer":
        data = {**data, "arxiv_id": paper.arxiv_id}
    if name == "examples":
        data = {**data, "examples": paper.arxiv_id}
    return getattr(client, method)(reverse(f"subscriptions:{name}", args=[token]), data)


@pytest.mark.parametrize("name", VIEWS)
def test_a_cut_short_link_opens_nothing_and_offers_a_fresh_one(client, name, paper):
    reader = make_subscriber("reader@example.org")
    token = tokens.make_token(reader, tokens.Purpose.PREFERENCES)[:-3]

    response = open_view(client, name, token, paper)

    body = response.content.decode()
    assert response.status_code == 400
    assert "This link does not work" in body
    assert 'name="email"' in body  # the form that mails a fresh link
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("name", VIEWS)
def test_a_link_older_than_preferences_links_last_says_it_expired(client, name, paper, settings):
    reader = make_subscriber("reader@example.org")
    token = tokens.make_token(reader, tokens.Purpose.PREFERENCES)
    later = timezone.now() + timedelta(seconds=settings.PREFERENCES_TOKEN_MAX_AGE + 60)

    with time_machine.travel(later):
        response = open_view(client, name, token, paper)

    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("name", VIEWS)
def test_another_links_token_opens_nothing(client, name, paper):
    reader = make_subscriber("reader@example.org")
    token = tokens.make_token(reader, tokens.Purpose.UNSUBSCRIBE)

    response = open_view(client, name, token, paper)

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


@pytest.mark.parametrize("name", VIEWS)
def test_the_link_of_a_subscriber_since_deleted_opens_nothing(client, name, paper):
    reader = make_subscriber("reader@example.org")
    token = tokens.make_token(reader, tokens.Purpose.PREFERENCES)
    reader.delete()

    response = open_view(client, name, token, paper)

    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()


def unsubscribed(reader: Subscriber) -> None:
    Subscriber.objects.filter(pk=reader.pk).update(
        status=Subscriber.Status.UNSUBSCRIBED, unsubscribed_at=timezone.now()
    )


def suppressed(reader: Subscriber) -> None:
    suppressions.subscriber_suppress(reader.email, "ses: bounced")


@pytest.mark.parametrize("name", VIEWS)
@pytest.mark.parametrize("left", [unsubscribed, suppressed], ids=["unsubscribed", "suppressed"])
def test_a_subscriber_who_left_or_was_suppressed_can_still_use_their_link(
    client, name, left, paper
):
    reader = make_subscriber("reader@example.org")
    token = tokens.make_token(reader, tokens.Purpose.PREFERENCES)
    left(reader)

    response = open_view(client, name, token, paper)

    assert response.status_code in (200, 302)
    if name != "suggestions":
        assert Feedback.objects.filter(subscriber=reader, signal=1).exists()
