"""A new subscriber's first pages say what happens next, in their own terms."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from digest.delivery import planning
from digest.models import Delivery
from subscriptions import tokens
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


@time_machine.travel(datetime(2026, 11, 23, 12, 7, tzinfo=UTC), tick=False)
def test_past_the_send_hour_the_first_digest_waits_for_the_answers_of_onboarding(client):
    dave = make_subscriber("dave@example.org", status="pending")

    page = confirm(client, dave)

    # Confirmed at 12:07: the grace (30 minutes) ends at 12:37, the tick after it is 12:40.
    assert "Your first digest arrives today at about 12:40 your time (UTC)" in page
    assert "answer a few papers first so it fits" in page
    assert "You have not chosen any topics yet" in page


@pytest.mark.parametrize(
    ("confirmed", "frequency", "expected"),
    [
        (datetime(2026, 11, 23, 12, 7, tzinfo=UTC), "daily", datetime(2026, 11, 23, 12, 40)),
        (datetime(2026, 11, 23, 6, 50, tzinfo=UTC), "daily", datetime(2026, 11, 23, 7, 20)),
        (datetime(2026, 11, 23, 5, 0, tzinfo=UTC), "daily", datetime(2026, 11, 23, 7, 0)),
        (datetime(2026, 11, 23, 23, 50, tzinfo=UTC), "daily", datetime(2026, 11, 24, 7, 0)),
        (datetime(2026, 11, 23, 12, 7, tzinfo=UTC), "weekly", datetime(2026, 11, 23, 12, 40)),
        (datetime(2026, 11, 23, 23, 50, tzinfo=UTC), "weekly", datetime(2026, 11, 30, 7, 0)),
    ],
)
def test_the_first_digest_the_page_announces_is_the_one_the_planner_sends(
    settings, confirmed, frequency, expected
):
    settings.FIRST_DIGEST_DELAY = 30
    with time_machine.travel(confirmed, tick=False):
        gina = make_subscriber("gina@example.org", frequency=frequency, weekday=0)
        gina.confirmed_at = confirmed
        gina.save()

        first = planning.first_digest(gina, confirmed)

    arrives = expected.replace(tzinfo=UTC)
    assert first["at"] == arrives
    planned = [d.subscriber_id for d in planning.due_digests(arrives)]
    assert planned == [gina.pk]
    assert planning.due_digests(arrives - timedelta(minutes=5)) == []


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

    first = planning.first_digest(erin, now)

    assert (first["day"], f"{first['at']:%H:%M}", first["soon"]) == (day, hour, False)


def test_check_your_inbox_repeats_the_address(client):
    response = client.post(reverse("subscriptions:signup"), {"email": "frank@example.org"})

    assert "<strong>frank@example.org</strong>" in response.content.decode()


def test_the_repeated_address_is_escaped(client):
    response = client.post(reverse("subscriptions:signup"), {"email": '"<b>x</b>"@example.org'})

    assert "<b>x</b>" not in response.content.decode()


@time_machine.travel(datetime(2026, 11, 23, 12, 7, tzinfo=UTC), tick=False)
def test_coming_back_the_day_a_digest_was_sent_promises_tomorrows(client, settings):
    settings.FIRST_DIGEST_DELAY = 30
    hana = make_subscriber("hana@example.org", status="unsubscribed")
    Delivery.objects.create(subscriber=hana, digest_date=date(2026, 11, 23), status="sent")

    page = confirm(client, hana)

    # Today's digest went out before she left: the planner sends none again today.
    assert "tomorrow, Tuesday 24 November, at 07:00 (UTC time)" in page
    assert planning.due_digests(datetime(2026, 11, 23, 12, 40, tzinfo=UTC)) == []
    tomorrow = [
        d.subscriber_id for d in planning.due_digests(datetime(2026, 11, 24, 7, 0, tzinfo=UTC))
    ]
    assert tomorrow == [hana.pk]


def test_a_day_whose_digest_was_cancelled_is_still_offered(settings):
    settings.FIRST_DIGEST_DELAY = 30
    now = datetime(2026, 11, 23, 5, 0, tzinfo=UTC)
    ivan = make_subscriber("ivan@example.org")
    Delivery.objects.create(subscriber=ivan, digest_date=date(2026, 11, 23), status="cancelled")

    first = planning.first_digest(ivan, now)

    assert (first["day"], first["time"]) == ("today", "07:00")


@time_machine.travel(datetime(2026, 11, 23, 5, 0, tzinfo=UTC), tick=False)
def test_with_the_send_tick_switched_off_the_page_promises_no_time(client):
    PeriodicTask.objects.filter(task="digest.tasks.tick").update(enabled=False)
    carol = make_subscriber("carol@example.org", status="pending")

    page = confirm(client, carol)

    assert "We cannot say yet when your first digest arrives" in page
    assert "07:00" not in page
    assert "answer a few papers meanwhile so it fits" in page
