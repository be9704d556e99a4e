"""A new subscriber's first pages say what happens next, in their own terms."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine
from django.urls import reverse

from subscriptions import selectors, tokens
from tests.factories import make_subscriber

pytestmark = pytest.mark.django_db


def confirm(client, subscriber):
    token = tokens.make_token(subscriber, tokens.Purpose.CONFIRM)
    return client.post(reverse("subscriptions:confirm", args=[token])).content.decode()


@time_machine.travel(datetime(2026, 11, 23, 5, 0, tzinfo=UTC))  # Mon 06:00 in Paris
def test_the_confirm_page_names_the_day_and_local_time_and_the_topics_chosen(client):
    carol = make_subscriber(
        "carol@example.org",
        status="pending",
        time_zone="Europe/Paris",
        categories=["cs.CL"],
        keywords=["distillation", "retrieval"],
    )

    page = confirm(client, carol)

    assert "today, Monday 23 November, at 07:00 (Europe/Paris time)" in page
    assert "categories cs.CL" in page
    assert "keywords distillation, retrieval" in page
    assert "Add or change topics at any time" in page


@time_machine.travel(datetime(2026, 11, 23, 9, 30, tzinfo=UTC))
def test_past_the_send_hour_the_first_digest_comes_at_the_next_tick(client):
    dave = make_subscriber("dave@example.org", status="pending")

    page = confirm(client, dave)

    assert "within the next few minutes: it is past 07:00, your send time, in UTC." in page
    assert "You have not chosen any topics yet" in page


@pytest.mark.parametrize(
    ("now", "day", "hour"),
    [
        (datetime(2026, 11, 23, 5, 0, tzinfo=UTC), "today", "07:00"),  # Monday, before 7
        (datetime(2026, 11, 22, 9, 0, tzinfo=UTC), "tomorrow", "07:00"),  # Sunday
        (datetime(2026, 11, 24, 8, 0, tzinfo=UTC), "Monday", "07:00"),  # Tuesday: next week
    ],
)
def test_a_weekly_subscriber_gets_the_first_digest_on_their_weekday(now, day, hour):
    erin = make_subscriber("erin@example.org", frequency="weekly", weekday=0)

    first = selectors.first_digest(erin, now)

    assert (first["day"], f"{first['at']:%H:%M}", first["soon"]) == (day, hour, False)


def test_check_your_inbox_repeats_the_address(client):
    response = client.post(reverse("subscriptions:signup"), {"email": "frank@example.org"})

    assert "<strong>frank@example.org</strong>" in response.content.decode()


def test_the_repeated_address_is_escaped(client):
    response = client.post(reverse("subscriptions:signup"), {"email": '"<b>x</b>"@example.org'})

    assert "<b>x</b>" not in response.content.decode()
