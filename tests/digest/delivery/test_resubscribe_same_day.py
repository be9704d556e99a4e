"""Unsubscribing and coming back on the same day: that day's digest still goes out."""

import pytest
import time_machine

from digest.delivery import sending
from digest.models import Delivery
from subscriptions.models import Subscriber
from subscriptions.services import subscriber_unsubscribe
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = pytest.mark.django_db


def test_a_reader_who_comes_back_the_same_day_gets_that_days_digest(smtp_server):  # noqa: F811
    with time_machine.travel(MONDAY_9_UTC):
        make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
        reader = make_subscriber("reader@example.org", keywords=["distillation"], send_hour=8)
        subscriber_unsubscribe(reader)
        Delivery.objects.create(subscriber=reader, digest_date=MONDAY_9_UTC.date())
        assert sending.send_due().cancelled == 1  # the 09:00 tick, while they were away

    with time_machine.travel(MONDAY_9_UTC.replace(hour=11)):
        # However they came back (the undo button, a fresh confirmation), they are active.
        Subscriber.objects.filter(pk=reader.pk).update(status=Subscriber.Status.ACTIVE)
        report = sending.send_due()

    assert (report.planned, report.sent) == (1, 1)
    assert smtp_server.recipients == ["reader@example.org"]
    row = Delivery.objects.get()
    assert (row.status, row.digest_date) == (Delivery.Status.SENT, MONDAY_9_UTC.date())


def test_an_unsubscribed_reader_stays_cancelled_on_later_ticks(smtp_server):  # noqa: F811
    with time_machine.travel(MONDAY_9_UTC):
        make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
        reader = make_subscriber("reader@example.org", keywords=["distillation"], send_hour=8)
        Delivery.objects.create(subscriber=reader, digest_date=MONDAY_9_UTC.date())
        subscriber_unsubscribe(reader)
        sending.send_due()
        again = sending.send_due()

    assert (again.planned, again.sent, again.cancelled) == (0, 0, 0)
    assert smtp_server.recipients == []
    assert Delivery.objects.get().status == Delivery.Status.CANCELLED
