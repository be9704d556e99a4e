"""Sending digests: who gets one, what it holds, and that nobody ever gets two."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from digest.delivery import planning, sending
from digest.models import Delivery
from subscriptions import services
from subscriptions.models import Subscriber
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_monday")]


@pytest.fixture
def papers():
    return [
        make_paper(
            "Knowledge distillation for small language models", categories=("cs.CL",), upvotes=40
        ),
        make_paper("Diffusion models for protein design", categories=("q-bio.BM",)),
        make_paper("A survey of graph neural networks", categories=("cs.LG",)),
    ]


@pytest.fixture
def alice(papers):
    return make_subscriber("alice@example.org", keywords=["distillation"], send_hour=8)


def test_it_sends_one_digest_with_the_matching_papers_and_both_parts(alice):
    report = sending.send_due(everyone=True)

    assert report.sent == 1
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert "Knowledge distillation" in message.body
    assert "Diffusion models" not in message.body
    html = message.alternatives[0][0]
    assert "Knowledge distillation" in html
    assert message.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/unsubscribe/" in message.extra_headers["List-Unsubscribe"]
    assert "mailto:" in message.extra_headers["List-Unsubscribe"]
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"


def test_it_records_the_delivery_with_its_papers_in_rank_order(alice):
    sending.send_due(everyone=True)

    row = Delivery.objects.get(subscriber=alice)
    assert row.status == Delivery.Status.SENT
    assert row.message_id.startswith("<")
    assert [i.paper.title for i in row.items.order_by("rank")] == [
        "Knowledge distillation for small language models"
    ]


def test_running_it_twice_sends_nothing_the_second_time(alice):
    sending.send_due(everyone=True)
    second = sending.send_due(everyone=True)

    assert second.sent == 0
    assert len(mail.outbox) == 1
    assert Delivery.objects.count() == 1


def test_it_waits_for_the_subscribers_hour_in_their_time_zone(papers):
    make_subscriber(
        "tokyo@example.org", keywords=["distillation"], send_hour=19, time_zone="Asia/Tokyo"
    )  # 19:00 in Tokyo is 10:00 UTC

    with time_machine.travel(MONDAY_9_UTC):
        assert sending.send_due().sent == 0
    with time_machine.travel(MONDAY_9_UTC + timedelta(hours=1)):
        assert sending.send_due().sent == 1


def test_a_weekly_subscriber_gets_mail_only_on_their_weekday(papers):
    make_subscriber(
        "weekly@example.org",
        keywords=["distillation"],
        send_hour=0,
        frequency=Subscriber.Frequency.WEEKLY,
        weekday=1,
    )

    with time_machine.travel(MONDAY_9_UTC):
        assert sending.send_due().sent == 0
    with time_machine.travel(MONDAY_9_UTC + timedelta(days=1)):
        assert sending.send_due().sent == 1


def test_nobody_gets_a_digest_before_confirming(papers):
    make_subscriber("bob@example.org", status=Subscriber.Status.PENDING, keywords=["distillation"])

    assert sending.send_due(everyone=True).sent == 0
    assert mail.outbox == []


def test_a_paper_is_never_sent_to_the_same_subscriber_twice(alice):
    with time_machine.travel(MONDAY_9_UTC):
        sending.send_due(everyone=True)
    with time_machine.travel(MONDAY_9_UTC + timedelta(days=1)):
        report = sending.send_due(everyone=True)

    assert report.sent == 0 and report.empty == 1
    assert len(mail.outbox) == 1


def test_an_empty_day_sends_a_note_to_those_who_asked_for_one(papers):
    make_subscriber("quiet@example.org", keywords=["astrophysics"])
    make_subscriber(
        "noted@example.org", keywords=["astrophysics"], empty_day=Subscriber.EmptyDay.NOTE
    )

    report = sending.send_due(everyone=True)

    assert (report.sent, report.empty) == (1, 1)
    assert mail.outbox[0].to == ["noted@example.org"]
    assert "No new papers matched" in mail.outbox[0].body


def test_a_claim_left_by_a_dead_worker_is_taken_over_after_the_lease(alice, settings):
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    row = Delivery.objects.get()
    token, won = planning.claim([row.pk], MONDAY_9_UTC)  # the worker then dies
    assert won

    too_soon = MONDAY_9_UTC + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS - 1)
    assert sending.send_chunk([row.pk], now=too_soon).sent == 0
    later = MONDAY_9_UTC + timedelta(seconds=settings.DELIVERY_LEASE_SECONDS + 1)
    assert sending.send_chunk([row.pk], now=later).sent == 1
    assert len(mail.outbox) == 1


def test_two_claims_on_the_same_rows_never_both_win(alice):
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    _, first = planning.claim(ids, MONDAY_9_UTC)
    _, second = planning.claim(ids, MONDAY_9_UTC)

    assert len(first) == 1 and second == []


def test_a_subscriber_who_left_after_planning_gets_nothing(alice):
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    Subscriber.objects.filter(pk=alice.pk).update(status=Subscriber.Status.UNSUBSCRIBED)

    report = sending.send_chunk(list(Delivery.objects.values_list("pk", flat=True)))

    assert report.cancelled == 1 and mail.outbox == []
    assert Delivery.objects.get().status == Delivery.Status.CANCELLED


def test_the_command_reports_what_it_sent(alice, capsys):
    call_command("send_digests", "--all")

    assert "sent 1" in capsys.readouterr().out


def test_a_dry_run_prints_who_would_get_what_and_sends_nothing(alice, capsys):
    call_command("send_digests", "--all", "--dry-run")

    out = capsys.readouterr().out
    assert "alice@example.org" in out and "Knowledge distillation" in out
    assert mail.outbox == [] and Delivery.objects.count() == 0


def test_the_command_fails_clearly_when_the_mail_server_is_down(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there

    with pytest.raises(CommandError, match="stay queued"):
        call_command("send_digests", "--all")

    assert Delivery.objects.get().status == Delivery.Status.PENDING


def test_a_digest_the_mail_server_would_not_take_says_why_it_waits(alice, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there

    with pytest.raises(CommandError):
        call_command("send_digests", "--all")

    waiting = Delivery.objects.get()
    assert waiting.status == Delivery.Status.PENDING
    assert waiting.attempts == 0  # the server's fault, not the address's: no try counted
    assert waiting.error.startswith("mail server unavailable: ")
    assert "refused" in waiting.error


def test_a_subscriber_with_no_interests_yet_gets_the_trending_papers(papers):
    make_subscriber("new@example.org")

    sending.send_due(everyone=True)

    body = mail.outbox[0].body
    assert body.index("Knowledge distillation") < body.index("Diffusion models")
    # The reason, without the count the upvote line already shows.
    assert "Why: trending" in body and "40 upvotes" in body


def test_topics_chosen_after_an_empty_decision_get_that_days_digest(papers):
    # Confirmed with a first topic that matches nothing today: the day is decided empty.
    newcomer = make_subscriber("new@example.org", keywords=["astrophysics"])
    assert sending.send_due(everyone=True).empty == 1
    assert mail.outbox == []

    interest = newcomer.interest
    interest.keywords = ["distillation"]
    services.interest_save(interest)
    report = sending.send_due(everyone=True)

    assert (report.sent, report.empty) == (1, 0)
    assert "Knowledge distillation" in mail.outbox[0].body
    assert Delivery.objects.get(subscriber=newcomer).status == Delivery.Status.SENT
    # A digest sent stays the only one of the day, whatever changes after.
    interest.keywords = ["graph neural networks"]
    services.interest_save(interest)
    services.feedback_record(newcomer, papers[2].arxiv_id, 1)
    assert sending.send_due(everyone=True).sent == 0
    assert len(mail.outbox) == 1


def test_an_answer_after_an_empty_decision_reopens_the_day(papers):
    reader = make_subscriber("reader@example.org", keywords=["astrophysics"])
    assert sending.send_due(everyone=True).empty == 1
    services.feedback_record(reader, papers[0].arxiv_id, 1)  # a pasted example
    assert not Delivery.objects.filter(subscriber=reader).exists()  # planned again next tick
