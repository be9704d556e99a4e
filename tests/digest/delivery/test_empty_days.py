"""A day decided empty is decided again when the reader changes what they want: their own
day, in their time zone, and no other."""

from datetime import UTC, datetime

import pytest
import time_machine

from digest.delivery import sending
from digest.models import Delivery
from subscriptions import services
from subscriptions.models import Subscriber
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

MONDAY = datetime(2026, 11, 23, tzinfo=UTC)


def _at(day: int, hour: int, minute: int = 5):
    return time_machine.travel(MONDAY.replace(day=day, hour=hour, minute=minute), tick=False)


def test_an_answer_the_day_after_an_empty_weekly_digest_loses_none_of_its_papers(mailoutbox):
    """The Monday digest at 01:00 UTC comes before Monday's listing (05:15) and is decided
    empty. An answer on Tuesday changes nothing about Monday: next Monday's digest still
    reaches back to it and carries Monday's papers."""
    reader = make_subscriber(
        "weekly@example.org", keywords=["distillation"], send_hour=1,
        frequency=Subscriber.Frequency.WEEKLY, weekday=MONDAY.weekday(),
    )  # fmt: skip
    with _at(23, 1):
        assert sending.send_due().empty == 1
    with _at(23, 5, 15):
        make_paper("Distillation announced on Monday", announced_on=MONDAY.date())
        unrelated = make_paper("Galaxy rotation curves", announced_on=MONDAY.date())
    with _at(24, 10):
        services.feedback_record(reader, unrelated.arxiv_id, -1)

    with _at(30, 1):
        assert sending.send_due().sent == 1

    [message] = mailoutbox
    assert "Distillation announced on Monday" in message.body


@pytest.mark.parametrize(
    ("zone", "reopened"),
    [
        # 08:05 UTC on Tuesday the 24th: still Monday in Honolulu, Tuesday in Tokyo.
        ("Pacific/Honolulu", True),
        ("Asia/Tokyo", False),
    ],
)
def test_an_answer_reopens_a_day_decided_empty_only_while_it_is_the_readers_today(zone, reopened):
    reader = make_subscriber(
        f"{zone.lower().replace('/', '.')}@example.org", keywords=["astrophysics"],
        time_zone=zone,
    )  # fmt: skip
    paper = make_paper("Distillation for small models", announced_on=MONDAY.date())
    Delivery.objects.create(subscriber=reader, digest_date=MONDAY.date(), status="empty")

    with _at(24, 8):
        services.feedback_record(reader, paper.arxiv_id, 1)

    assert Delivery.objects.filter(subscriber=reader).exists() is not reopened
