"""Delivery over real SMTP (aiosmtpd on loopback): content, headers, 4xx and 5xx answers."""

import smtplib
from datetime import timedelta

import pytest
import time_machine
from anymail.exceptions import AnymailAPIError, AnymailRecipientsRefused
from celery.exceptions import Retry

from digest import tasks
from digest.delivery import planning, sending
from digest.models import Delivery
from subscriptions.models import Subscriber
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_monday")]


@pytest.fixture
def papers():
    return [
        make_paper(
            "Knowledge distillation for small language models",
            "We distil a large teacher into a small student. It keeps 97% of the accuracy. "
            "It runs on one GPU. A fourth sentence that the email leaves out.",
            categories=("cs.CL",),
            upvotes=40,
            authors=[f"Author {n}" for n in range(12)],
            organization="Example Lab",
            hf_url="https://huggingface.co/papers/2511.00001",
            code_url="https://github.com/example/distil",
        ),
        make_paper("Diffusion models for protein design", categories=("q-bio.BM",)),
        make_paper("A survey of graph neural networks", categories=("cs.LG",)),
        make_paper("Distillation of diffusion samplers", categories=("cs.LG",), upvotes=3),
    ]


@pytest.fixture
def alice(papers):
    return make_subscriber("alice@example.org", keywords=["distillation"], send_hour=8)


@pytest.fixture
def bob(papers):
    return make_subscriber("bob@example.org", keywords=["distillation"], send_hour=8)


def test_each_subscriber_gets_one_message_with_both_parts(smtp_server, alice, bob):  # noqa: F811
    report = sending.send_due(everyone=True)

    assert report.sent == 2
    assert sorted(smtp_server.recipients) == ["alice@example.org", "bob@example.org"]
    [received] = smtp_server.to("alice@example.org")
    text, html = received.part("plain"), received.part("html")
    for part in (text, html):
        assert "Knowledge distillation for small language models" in part
        assert "Author 0, Author 1, Author 2 et al. (12 authors)" in part
        assert "Example Lab" in part
        assert "We distil a large teacher into a small student." in part
        assert "A fourth sentence" not in part  # the gist, then two more sentences
        assert "https://arxiv.org/pdf/" in part
        assert "https://huggingface.co/papers/2511.00001" in part
        assert "https://github.com/example/distil" in part
        assert "/feedback/" in part and "/feed/" in part and "/digest/" in part
        assert "Diffusion models for protein design" not in part
    assert "Why: " in text and "40 upvotes" in text
    assert 'style="' in html and "<style" in html and "prefers-color-scheme" in html


def test_the_headers_make_a_proper_bulk_message(smtp_server, alice, settings):  # noqa: F811
    settings.SITE_URL = "https://paperboy.example"

    sending.send_due(everyone=True)

    [received] = smtp_server.received
    message = received.message
    assert message["From"] == "Paperboy <digest@paperboy.localhost>"
    assert message["To"] == "alice@example.org"
    assert message["Subject"].startswith("2 papers · “")  # no leading space either
    assert message["Date"]
    row = Delivery.objects.get()
    assert message["Message-ID"] == row.message_id
    assert row.message_id == f"<digest.{row.public_id.hex}@paperboy.localhost>"
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.strip().startswith("<https://paperboy.example/unsubscribe/")
    assert "<mailto:unsubscribe@paperboy.localhost?subject=unsubscribe>" in unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["List-Id"] == "Paperboy digest <digest.paperboy.localhost>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert received.mail_from == "digest@paperboy.localhost"


def test_a_451_is_retried_and_delivered_exactly_once(smtp_server, alice, bob):  # noqa: F811
    smtp_server.script["alice@example.org"] = ["451 4.7.1 Greylisted, try again later"]
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    # Eager: the retry runs at once, without its countdown.
    tasks.send_chunk.apply(args=[ids])

    assert sorted(smtp_server.recipients) == ["alice@example.org", "bob@example.org"]
    rows = {d.subscriber.email: d for d in Delivery.objects.select_related("subscriber")}
    assert {d.status for d in rows.values()} == {Delivery.Status.SENT}
    assert rows["alice@example.org"].attempts == 2
    assert rows["bob@example.org"].attempts == 1


def test_a_temporary_refusal_releases_only_that_row(smtp_server, alice, bob):  # noqa: F811
    smtp_server.script["alice@example.org"] = ["452 4.2.2 Mailbox full"]
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    with pytest.raises(sending.TemporarySendError) as caught:
        sending.send_chunk(ids)

    assert caught.value.released == 1 and caught.value.report.sent == 1
    assert smtp_server.recipients == ["bob@example.org"]
    assert Delivery.objects.get(subscriber=alice).status == Delivery.Status.PENDING
    assert sending.send_chunk(ids).sent == 1
    assert sorted(smtp_server.recipients) == ["alice@example.org", "bob@example.org"]


def test_the_task_backs_off_exponentially(smtp_server, alice, monkeypatch):  # noqa: F811
    smtp_server.always = "451 4.3.0 Try again later"
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    countdowns = []

    def retry(exc=None, countdown=None, **kwargs):
        countdowns.append(countdown)
        return Retry(exc=exc, when=countdown)

    monkeypatch.setattr(tasks.send_chunk, "retry", retry)
    for attempt in range(4):
        result = tasks.send_chunk.apply(args=[[Delivery.objects.get().pk]], retries=attempt)
        assert isinstance(result.result, Retry)

    assert countdowns == [30, 60, 120, 240]
    assert Delivery.objects.get().status == Delivery.Status.PENDING
    assert smtp_server.received == []


def test_a_server_that_hangs_up_mid_chunk_loses_nothing_and_repeats_nothing(
    smtp_server,  # noqa: F811
    papers,
):
    for n in range(6):
        make_subscriber(f"reader{n}@example.org", keywords=["distillation"])
    smtp_server.script["reader3@example.org"] = ["421 4.3.2 Shutting down"]
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.order_by("pk").values_list("pk", flat=True))

    with pytest.raises(sending.TemporarySendError) as caught:
        sending.send_chunk(ids)
    first = caught.value.report
    assert first.sent >= 1 and first.sent + caught.value.released == 6
    assert "reader3@example.org" not in smtp_server.recipients

    assert sending.send_chunk(ids).sent == caught.value.released
    assert sorted(smtp_server.recipients) == [f"reader{n}@example.org" for n in range(6)]


def test_a_550_marks_the_delivery_failed_and_nothing_is_resent(smtp_server, alice, bob):  # noqa: F811
    smtp_server.script["alice@example.org"] = ["550 5.1.1 No such user"]

    with time_machine.travel(MONDAY_9_UTC):
        report = sending.send_due(everyone=True)
        again = sending.send_due(everyone=True)

    assert (report.sent, report.failed) == (1, 1)
    assert "550 5.1.1 No such user" in report.errors[0]
    assert again.sent == again.failed == 0
    row = Delivery.objects.get(subscriber=alice)
    assert row.status == Delivery.Status.FAILED and row.error.startswith("550")
    assert smtp_server.recipients == ["bob@example.org"]
    alice.refresh_from_db()
    assert alice.failure_count == 1 and alice.status == Subscriber.Status.ACTIVE


def test_three_permanent_failures_in_a_row_suppress_the_address(smtp_server, papers):  # noqa: F811
    carol = make_subscriber("carol@example.org", categories=["cs.LG", "cs.CL", "q-bio.BM"])
    smtp_server.script["carol@example.org"] = ["550 5.1.1 No such user"] * 3

    for day in range(4):
        # A new paper each day, so there is always something to send.
        make_paper(f"Graph paper of day {day}", categories=("cs.LG",))
        with time_machine.travel(MONDAY_9_UTC + timedelta(days=day)):
            make_paper(f"Another graph paper of day {day}", categories=("cs.LG",))
            sending.send_due(everyone=True)
        carol.refresh_from_db()
        if day < 2:
            assert carol.status == Subscriber.Status.ACTIVE

    assert carol.status == Subscriber.Status.BOUNCED
    assert "550 5.1.1 No such user" in carol.suppressed_reason
    assert Delivery.objects.filter(subscriber=carol).count() == 3
    assert smtp_server.received == []


def test_a_server_that_refuses_every_digest_for_good_is_refusing_us_not_the_readers(
    smtp_server, papers
):  # noqa: F811
    """A relay that will not relay for us (a wrong EMAIL_URL) answers 554 for everyone:
    no reader's address is to blame, so nobody is suppressed however many days it lasts,
    and the digests wait for the server, saying why (all 25 were suppressed in three)."""
    readers = [
        make_subscriber(f"reader{n}@example.org", keywords=["distillation"]) for n in range(25)
    ]
    smtp_server.always = "554 5.7.1 <reader0@example.org>: Relay access denied"

    for day in range(4):
        with time_machine.travel(MONDAY_9_UTC + timedelta(days=day)):
            report = sending.send_due(everyone=True)
        assert report.failed == 0
        assert "refused the first 5 digests for good and took none" in report.errors[0]

    assert {r.status for r in Subscriber.objects.filter(pk__in=[r.pk for r in readers])} == {
        Subscriber.Status.ACTIVE
    }
    assert set(Subscriber.objects.values_list("failure_count", flat=True)) == {0}
    waiting = Delivery.objects.filter(status=Delivery.Status.PENDING)
    assert "Relay access denied" in waiting.exclude(error="").first().error


def test_a_bad_address_first_in_a_chunk_still_fails_once_the_server_takes_one(
    smtp_server, alice, bob
):  # noqa: F811
    smtp_server.script["alice@example.org"] = ["550 5.1.1 No such user"]

    report = sending.send_due(everyone=True)

    assert (report.sent, report.failed, report.released) == (1, 1, 0)
    alice.refresh_from_db()
    assert alice.failure_count == 1


def test_a_delivered_digest_ends_a_run_of_failures(smtp_server, alice):  # noqa: F811
    Subscriber.objects.filter(pk=alice.pk).update(failure_count=2)

    sending.send_due(everyone=True)

    alice.refresh_from_db()
    assert alice.failure_count == 0 and alice.status == Subscriber.Status.ACTIVE


def test_nothing_a_subscriber_typed_can_add_a_header(smtp_server, papers):  # noqa: F811
    make_subscriber("eve@example.org\r\nBcc: mallory@example.org", keywords=["distillation"])
    make_subscriber(
        "frank@example.org",
        keywords=["distillation\r\nBcc: mallory@example.org", "distillation"],
        description="Hi\r\nBcc: mallory@example.org",
    )
    make_paper(
        "Distillation\r\nBcc: mallory@example.org\r\nX-Evil: 1", categories=("cs.LG",), upvotes=90
    )

    report = sending.send_due(everyone=True)

    assert report.sent == 1 and report.failed == 1
    assert smtp_server.recipients == ["frank@example.org"]
    [received] = smtp_server.received
    header_block = received.raw.split(b"\r\n\r\n", 1)[0]
    assert b"\nBcc:" not in header_block and b"\nX-Evil" not in header_block
    assert "mallory" not in str(received.message["To"])
    eve = Delivery.objects.get(subscriber__email__startswith="eve@")
    assert eve.status == Delivery.Status.FAILED and "refusing" in eve.error


@pytest.mark.parametrize(
    ("error", "kind"),
    [
        (smtplib.SMTPRecipientsRefused({"a@example.org": (550, b"No such user")}), "permanent"),
        (smtplib.SMTPRecipientsRefused({"a@example.org": (450, b"Greylisted")}), "temporary"),
        (smtplib.SMTPDataError(554, b"Spam"), "permanent"),
        (smtplib.SMTPDataError(451, b"Try later"), "temporary"),
        (smtplib.SMTPDataError(421, b"Closing"), "connection"),
        (smtplib.SMTPSenderRefused(553, b"Not our domain", "digest@x"), "connection"),
        (smtplib.SMTPServerDisconnected("gone"), "connection"),
        (ConnectionResetError(), "connection"),
        (AnymailRecipientsRefused("all refused"), "permanent"),
        (AnymailAPIError("401 bad API key"), "connection"),
        (RuntimeError("a bug"), "unknown"),
    ],
)
def test_each_failure_is_classified_by_whose_problem_it_is(error, kind):
    assert sending._classify(error)[0] == kind
