"""The first digest waits a short grace after confirming, so the answers a new subscriber
gives on the pages that follow (their papers, their topics) count in it."""

from datetime import timedelta

import pytest
import time_machine

from digest.delivery import planning
from tests.factories import MONDAY_9_UTC, make_subscriber

pytestmark = pytest.mark.django_db


def due_ids(*, everyone: bool = False) -> list[int]:
    return [d.subscriber_id for d in planning.due_digests(MONDAY_9_UTC, everyone=everyone)]


def confirmed_before_monday_9(minutes: int):
    return make_subscriber(
        "new@example.org", send_hour=8, confirmed_at=MONDAY_9_UTC - timedelta(minutes=minutes)
    )


@pytest.fixture(autouse=True)
def on_monday_9(settings):
    settings.FIRST_DIGEST_DELAY = 30
    with time_machine.travel(MONDAY_9_UTC, tick=False):
        yield


def test_a_subscriber_who_confirmed_minutes_ago_is_not_due_yet():
    confirmed_before_monday_9(minutes=5)

    assert due_ids() == []


def test_after_the_grace_their_first_digest_is_due():
    subscriber = confirmed_before_monday_9(minutes=31)

    assert due_ids() == [subscriber.pk]


def test_sending_to_everyone_does_not_wait_for_the_grace():
    # `send_digests --all`, which the README's first run uses right after confirming.
    subscriber = confirmed_before_monday_9(minutes=5)

    assert due_ids(everyone=True) == [subscriber.pk]


def test_a_subscriber_confirmed_long_ago_is_due_at_their_hour():
    subscriber = make_subscriber("old@example.org", send_hour=8)

    assert due_ids() == [subscriber.pk]
