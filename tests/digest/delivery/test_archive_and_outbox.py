"""The subscriber's archive of earlier digests, and the local outbox a new user opens."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import time_machine
from django.core import mail as django_mail
from django.urls import reverse
from django.utils import timezone

from digest.delivery import rendering
from digest.delivery.links import Links
from digest.mail import outbox
from digest.models import Delivery, DeliveryItem
from subscriptions import tokens
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db


def sent_digests(subscriber, days: int, first=date(2026, 11, 1)) -> list[Delivery]:
    paper = make_paper(f"A paper for {subscriber.email}")
    rows = []
    for n in range(days):
        row = Delivery.objects.create(
            subscriber=subscriber,
            digest_date=first + timedelta(days=n),
            status=Delivery.Status.SENT,
            sent_at=timezone.now() - timedelta(days=days - n),
            subject=f"Digest number {n}",
        )
        DeliveryItem.objects.create(delivery=row, paper=paper, rank=1, reason="cs.LG")
        rows.append(row)
    return rows


@time_machine.travel("2026-12-02 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_web_version_links_to_the_archive_of_ones_own_digests(client):
    alice = make_subscriber("alice@example.org")
    bob = make_subscriber("bob@example.org")
    mine = sent_digests(alice, 3)
    sent_digests(bob, 2)
    Delivery.objects.create(subscriber=alice, digest_date=date(2026, 12, 1))  # not sent

    page = client.get(rendering.view_url(mine[-1])).content.decode()
    archive_url = Links(mine[-1].sent_at).archive(mine[-1])  # signed as the mail was
    assert archive_url in page
    archive = client.get(archive_url)

    body = archive.content.decode()
    assert archive.status_code == 200
    assert re.findall(r"Digest number \d", body) == [f"Digest number {n}" for n in (2, 1, 0)]
    assert "bob@example.org" not in body and "1 Dec 2026" not in body
    for row in mine:
        assert rendering.view_url(row).removeprefix("http://testserver") in body
    assert archive["X-Robots-Tag"] == "noindex"


def test_each_archived_digest_opens_as_it_was_sent(client):
    alice = make_subscriber("alice@example.org")
    first, last = sent_digests(alice, 2)

    page = client.get(rendering.view_url(first)).content.decode()

    assert "Sun 01 Nov 2026" in page and "A paper for alice@example.org" in page


def test_the_archive_is_paged(client):
    alice = make_subscriber("alice@example.org")
    rows = sent_digests(alice, 23)
    url = Links().archive(rows[0])

    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()

    assert first.count("Digest number") == 20 and "Page 1 of 2" in first
    assert second.count("Digest number") == 3 and "Digest number 0" in second


def test_a_forged_or_borrowed_token_opens_no_archive(client):
    alice = make_subscriber("alice@example.org")
    bob = make_subscriber("bob@example.org")
    [row] = sent_digests(alice, 1)
    unsubscribe = tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)
    # Bob's signature on Alice's digest id: the token does not name her digest.
    bobs = tokens.make_token(bob, tokens.Purpose.VIEW_DIGEST, row.public_id.hex)

    for token in (unsubscribe, bobs, "nonsense", Links().token(alice, "view-digest", "x")):
        path = reverse("digest:archive", args=[token])
        assert client.get(path).status_code == 404, token
    good = Links().archive(row)
    assert client.get(good.replace("/archive/", "xx/archive/")).status_code == 404


# -- the outbox ------------------------------------------------------------------------


@pytest.fixture
def one_digest(settings, outbox_backend):
    settings.DEBUG = True
    alice = make_subscriber("alice@example.org", keywords=["distillation"])
    paper = make_paper("Knowledge distillation for small language models: a long title")
    row = Delivery.objects.create(subscriber=alice, digest_date=date(2026, 11, 23))
    item = DeliveryItem(delivery=row, paper=paper, rank=1, reason="matches 'distillation'")
    rendering.DigestRenderer().email(row, [(item, paper)]).django_message().send()
    return outbox.list_messages()[0]


def test_the_outbox_lists_date_recipient_and_subject_without_a_leading_space(client, one_digest):
    page = client.get(reverse("digest:outbox")).content.decode()

    assert '<th scope="col">Date</th>' in page
    assert one_digest.subject == one_digest.subject.strip()
    assert f">{one_digest.subject}</a>" in page.replace("&quot;", '"').replace("&#x27;", "'")
    assert one_digest.date is not None
    assert f"{one_digest.date:%H:%M}" in page


def test_a_message_shows_the_rendered_mail_first_and_folds_the_headers(client, one_digest):
    page = client.get(reverse("digest:outbox_message", args=[one_digest.name])).content.decode()

    assert page.index("<iframe") < page.index("<summary>Headers</summary>")
    assert 'sandbox="allow-popups allow-top-navigation-by-user-activation"' in page


def test_links_in_the_previewed_mail_open_in_the_top_window(client, one_digest):
    response = client.get(reverse("digest:outbox_html", args=[one_digest.name]))

    assert '<head><base target="_top">' in response.content.decode()
    assert "allow-top-navigation-by-user-activation" in response["Content-Security-Policy"]
    assert "frame-ancestors 'self'" in response["Content-Security-Policy"]


def test_the_outbox_is_not_there_outside_debug(client, settings):
    settings.DEBUG = False

    assert client.get(reverse("digest:outbox")).status_code == 404
    assert not django_mail.outbox
