"""One bad record never stops everyone's digest, and no delivery is tried forever."""

import io
import logging

import pytest
from django.core.management import call_command

from digest.delivery import planning, sending
from digest.models import Delivery, Paper
from tests.factories import MONDAY_9_UTC, make_paper, make_subscriber

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_monday")]


@pytest.fixture
def broken_paper():
    """As an admin edit can leave it: `authors` a JSON number (ingestion never writes it)."""
    paper = make_paper("Distillation with a broken author list", categories=("cs.LG",))
    Paper.objects.filter(pk=paper.pk).update(authors=5)
    return paper


@pytest.fixture
def readers():
    make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
    return [make_subscriber(f"reader{n}@example.org", keywords=["distillation"]) for n in range(3)]


def test_a_paper_with_bad_authors_is_left_out_and_everyone_else_gets_their_digest(
    smtp_server,
    broken_paper,
    readers,
    caplog,
):
    with caplog.at_level(logging.WARNING, logger="digest.selectors"):
        report = sending.send_due(everyone=True)

    assert report.sent == 3
    assert sorted(smtp_server.recipients) == [f"reader{n}@example.org" for n in range(3)]
    for received in smtp_server.received:
        assert "Knowledge distillation" in received.part("plain")
        assert "broken author list" not in received.part("plain")
    assert f"paper {broken_paper.arxiv_id} is left out of every digest" in caplog.text
    assert "authors must be a list of text, not 5" in caplog.text


def test_staff_see_the_problem_in_the_admin_and_cannot_save_another(admin_client, broken_paper):
    listing = admin_client.get("/admin/digest/paper/")
    assert "authors must be a list of text, not 5" in listing.content.decode()

    page = admin_client.get(f"/admin/digest/paper/{broken_paper.pk}/change/")
    assert "authors must be a list of text, not 5" in page.content.decode()


def test_a_delivery_that_crashes_every_time_fails_after_its_attempts_with_the_error(
    readers, settings, monkeypatch
):
    settings.DELIVERY_MAX_ATTEMPTS = 3

    def bug(*args, **kwargs):
        raise ZeroDivisionError("a bug in the ranking")

    monkeypatch.setattr("digest.delivery.items.pick", bug)
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    for _ in range(settings.DELIVERY_MAX_ATTEMPTS):
        with pytest.raises(ZeroDivisionError):
            sending.send_chunk(ids)
    assert sending.send_chunk(ids).sent == 0  # nothing left to try

    rows = Delivery.objects.all()
    assert {r.status for r in rows} == {Delivery.Status.FAILED}
    assert {r.attempts for r in rows} == {3}
    for row in rows:
        assert row.error == (
            "gave up after 3 attempts; the last error: ZeroDivisionError: a bug in the ranking"
        )
    assert planning.claimable_delivery_ids(MONDAY_9_UTC) == []


def test_a_mail_server_that_is_down_does_not_use_up_the_attempts(readers, settings):
    """Rows never tried because the server could not be reached are the server's
    trouble, not theirs: they wait for it, however many runs that takes."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 9  # nothing listens there
    settings.EMAIL_TIMEOUT = 2
    planning.plan_deliveries(MONDAY_9_UTC, everyone=True)
    ids = list(Delivery.objects.values_list("pk", flat=True))

    for _ in range(settings.DELIVERY_MAX_ATTEMPTS + 1):
        with pytest.raises(sending.TemporarySendError):
            sending.send_chunk(ids)

    assert set(Delivery.objects.values_list("status", "attempts")) == {("pending", 0)}


@pytest.fixture
def marked_papers():
    """Titles holding the card templates' slot markers (U+E000 name U+E001), as a row stored
    before ingestion dropped private-use characters, or an admin edit, can hold them."""
    return [
        make_paper("Distillation \ue000x\ue001 without a teacher", categories=("cs.LG",)),
        make_paper("Distillation \ue000fewer_url\ue001 for tiny models", categories=("cs.LG",)),
    ]


def test_a_title_holding_slot_markers_is_sent_as_text_to_everyone_in_the_chunk(
    smtp_server, marked_papers, readers
):
    call_command("send_digests", "--all", stdout=io.StringIO())

    assert sorted(smtp_server.recipients) == [f"reader{n}@example.org" for n in range(3)]
    assert set(Delivery.objects.values_list("status", flat=True)) == {Delivery.Status.SENT}
    for received in smtp_server.received:
        text, html = received.part("plain"), received.part("html")
        assert "Distillation x without a teacher" in text
        assert "Distillation fewer_url for tiny models" in text
        assert "Distillation fewer_url for tiny models" in html
        for part in (text, html):
            assert "\ue000" not in part and "\ue001" not in part
        # Each of the three cards has its own two feedback links, and no title holds one.
        assert text.count("/feedback/") == 6
        title_lines = [line for line in text.splitlines() if "Distillation" in line]
        assert title_lines and not any("http" in line for line in title_lines)
