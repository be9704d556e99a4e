"""A suppressed address (a hard bounce, a spam complaint, or staff) stays suppressed until
staff lift it in the admin: no link a subscriber holds, and no new sign-up, brings it back.
Unsubscribing still works, and is remembered when the suppression is lifted."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import services, suppressions, tokens
from subscriptions.models import Subscriber
from tests.factories import make_subscriber
from tests.helpers.links import unsubscribe_path
from tests.helpers.mail import link_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def suppressed() -> Subscriber:
    """Confirmed long ago; then a spam complaint stopped all mail to the address."""
    subscriber = make_subscriber("dora@example.org")
    suppressions.subscriber_suppress(subscriber.email, "postmark: marked as spam")
    subscriber.refresh_from_db()
    return subscriber


def undo_in(page: str) -> str | None:
    match = re.search(r'action="(/resubscribe/[^"]+)"', page)
    return match.group(1) if match else None


def status_of(subscriber: Subscriber) -> str:
    subscriber.refresh_from_db()
    return subscriber.status


def test_unsubscribing_keeps_the_suppression_and_records_the_wish(client, suppressed):
    page = client.post(unsubscribe_path(suppressed)).content.decode()

    assert "You're unsubscribed" in page
    assert "You will get no more digests" in page
    suppressed.refresh_from_db()
    assert suppressed.status == Subscriber.Status.BOUNCED
    assert suppressed.suppressed_reason == "postmark: marked as spam"
    assert suppressed.unsubscribed_at is not None


def test_the_page_after_unsubscribing_offers_no_undo_and_no_sign_up_that_would_not_work(
    client, suppressed, settings
):
    settings.CONTACT_EMAIL = "help@paperboy.example"
    page = client.post(unsubscribe_path(suppressed)).content.decode()

    assert undo_in(page) is None
    assert "Sign up again" not in page
    assert "mailto:help@paperboy.example" in page
    # Nothing about why: whoever holds a forwarded mail learns no more than needed.
    assert "spam" not in page
    assert "bounc" not in page


def test_the_undo_after_unsubscribing_cannot_lift_the_suppression(client, suppressed):
    page = client.post(unsubscribe_path(suppressed)).content.decode()
    undo = undo_in(page)
    # Even an undo made for this unsubscribe (as an older page would have offered it).
    suppressed.refresh_from_db()
    extra = f"{tokens.consent_mark(suppressed)}:{int(timezone.now().timestamp())}"
    forged = tokens.make_token(suppressed, tokens.Purpose.RESUBSCRIBE, extra=extra)
    for path in filter(None, [undo, reverse("subscriptions:resubscribe", args=[forged])]):
        response = client.post(path)
        assert "Welcome back" not in response.content.decode()

    assert status_of(suppressed) == Subscriber.Status.BOUNCED


def test_signing_up_again_after_unsubscribing_mails_nothing_and_lifts_nothing(client, suppressed):
    client.post(unsubscribe_path(suppressed))
    response = client.post(reverse("subscriptions:signup"), {"email": "dora@example.org"})

    assert "Check your inbox" in response.content.decode()
    assert mail.outbox == []
    assert status_of(suppressed) == Subscriber.Status.BOUNCED


def test_no_preferences_link_is_mailed_to_a_suppressed_address_after_it_unsubscribed(
    client, suppressed
):
    client.post(unsubscribe_path(suppressed))
    client.post(reverse("subscriptions:request_link"), {"email": "dora@example.org"})

    assert mail.outbox == []
    assert status_of(suppressed) == Subscriber.Status.BOUNCED


def test_a_preferences_page_mailed_before_the_suppression_offers_no_resubscribe(client, alice):
    client.post(unsubscribe_path(alice))
    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        client.post(reverse("subscriptions:request_link"), {"email": "alice@example.org"})
    preferences = link_in(mail.outbox[-1], "/preferences/")
    undo = undo_in(client.get(preferences).content.decode())
    assert undo is not None  # mailed after the unsubscribe: it may bring alice back...
    suppressions.subscriber_suppress("alice@example.org", "ses: bounced")

    page = client.get(preferences).content.decode()  # ...until the address is suppressed

    assert undo_in(page) is None
    assert "We have stopped sending to this address" in page
    assert "Welcome back" not in client.post(undo).content.decode()
    assert status_of(alice) == Subscriber.Status.BOUNCED


def test_a_confirmation_link_mailed_before_the_suppression_cannot_lift_it(client, bob):
    path = link_in(_confirmation_mail_to(client, "bob@example.org"), "/confirm/")
    suppressions.subscriber_suppress("bob@example.org", "ses: bounced")

    response = client.post(path)

    assert "You're subscribed" not in response.content.decode()
    assert "We cannot send to this address" in response.content.decode()
    assert status_of(bob) == Subscriber.Status.BOUNCED


def test_a_confirmation_racing_a_suppression_leaves_the_address_suppressed(bob):
    # The confirm page read bob as pending; the bounce webhook suppressed him before
    # the page's update ran.
    as_read_by_the_confirm_page = Subscriber.objects.get(pk=bob.pk)
    suppressions.subscriber_suppress("bob@example.org", "ses: bounced")

    services.subscriber_confirm(as_read_by_the_confirm_page)

    assert status_of(bob) == Subscriber.Status.BOUNCED


def test_an_unsubscribe_racing_a_suppression_keeps_the_suppression(alice):
    as_read_by_the_unsubscribe_page = Subscriber.objects.get(pk=alice.pk)
    suppressions.subscriber_suppress("alice@example.org", "ses: bounced")

    services.subscriber_unsubscribe(as_read_by_the_unsubscribe_page)

    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED
    assert alice.unsubscribed_at is not None


def test_an_undo_racing_a_suppression_mails_no_confirmation(bob):
    # Bob never confirmed and unsubscribed; the undo page read him so, and the bounce
    # webhook suppressed him before the page mailed him a confirmation.
    services.subscriber_unsubscribe(bob)
    as_read_by_the_undo_page = Subscriber.objects.get(pk=bob.pk)
    suppressions.subscriber_suppress("bob@example.org", "ses: bounced")

    services.subscriber_resubscribe(as_read_by_the_undo_page)

    assert mail.outbox == []
    assert status_of(bob) == Subscriber.Status.BOUNCED


@pytest.mark.parametrize("who", ["alice", "bob"])
def test_no_confirmation_mail_of_either_kind_goes_to_an_address_suppressed_since_it_was_read(
    request, who
):
    # Whoever calls it: the sending function reads the suppression itself, as it is now.
    as_read_by_a_caller = request.getfixturevalue(who)
    suppressions.subscriber_suppress(as_read_by_a_caller.email, "staff: asked by the owner")

    services.send_confirmation(as_read_by_a_caller)

    assert mail.outbox == []


def test_the_confirmation_mail_still_goes_to_pending_and_active_addresses(alice, bob):
    services.send_confirmation(alice)
    services.send_confirmation(bob)

    subjects = {m.to[0]: m.subject for m in mail.outbox}
    assert set(subjects) == {"alice@example.org", "bob@example.org"}
    assert subjects["alice@example.org"] != subjects["bob@example.org"]


def test_one_click_on_a_suppressed_address_answers_plain_text_and_records_the_wish(suppressed):
    response = Client(enforce_csrf_checks=True).post(
        unsubscribe_path(suppressed),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "text/plain"
    assert response.content == b"You are unsubscribed.\n"
    assert not response.cookies
    suppressed.refresh_from_db()
    assert suppressed.status == Subscriber.Status.BOUNCED
    assert suppressed.unsubscribed_at is not None


def test_the_unsubscribe_link_opened_again_says_already_unsubscribed(client, suppressed):
    path = unsubscribe_path(suppressed)
    assert "Unsubscribe?" in client.get(path).content.decode()
    first = client.post(path)
    left_at = Subscriber.objects.get(pk=suppressed.pk).unsubscribed_at

    page = client.get(path).content.decode()

    assert first.status_code == 200
    assert "You're already unsubscribed" in page
    assert "Unsubscribe?" not in page
    client.post(path)
    assert Subscriber.objects.get(pk=suppressed.pk).unsubscribed_at == left_at


def test_lifting_the_suppression_keeps_an_unsubscribe_made_while_suppressed(suppressed):
    services.subscriber_unsubscribe(suppressed)

    suppressions.subscribers_unsuppress(Subscriber.objects.filter(pk=suppressed.pk))

    suppressed.refresh_from_db()
    assert suppressed.status == Subscriber.Status.UNSUBSCRIBED
    assert suppressed.suppressed_reason == ""


def test_lifting_the_suppression_keeps_an_unsubscribe_made_before_it(alice):
    # Alice left; then a complaint about a mail sent before she left suppressed her.
    services.subscriber_unsubscribe(alice)
    suppressions.subscriber_suppress("alice@example.org", "postmark: marked as spam")

    suppressions.subscribers_unsuppress(Subscriber.objects.filter(pk=alice.pk))

    assert status_of(alice) == Subscriber.Status.UNSUBSCRIBED


def test_lifting_the_suppression_of_a_never_confirmed_address_leaves_it_to_confirm(bob):
    # The confirmation mail bounced, or its reader reported it: nobody ever said yes.
    suppressions.subscriber_suppress("bob@example.org", "ses: bounced")

    suppressions.subscribers_unsuppress(Subscriber.objects.filter(pk=bob.pk))

    assert status_of(bob) == Subscriber.Status.PENDING


def test_lifting_the_suppression_of_a_confirmed_subscriber_resumes_the_digest(suppressed):
    suppressions.subscribers_unsuppress(Subscriber.objects.filter(pk=suppressed.pk))

    suppressed.refresh_from_db()
    assert suppressed.status == Subscriber.Status.ACTIVE
    assert (suppressed.suppressed_reason, suppressed.failure_count) == ("", 0)


def test_the_sign_up_answer_says_where_to_turn_when_nothing_arrives(client, settings, suppressed):
    # The same words for every address: they tell nobody which addresses we stopped.
    settings.CONTACT_EMAIL = "help@paperboy.example"
    for email in ("dora@example.org", "nobody@example.org"):
        page = client.post(reverse("subscriptions:signup"), {"email": email}).content.decode()
        assert "mailto:help@paperboy.example" in page


def _confirmation_mail_to(client, email: str):
    client.post(reverse("subscriptions:signup"), {"email": email})
    return mail.outbox[-1]


def test_the_preferences_page_of_a_suppressed_subscriber_can_still_unsubscribe(client, suppressed):
    preferences = tokens.preferences_url(suppressed).removeprefix("http://testserver")
    page = client.get(preferences).content.decode()
    [unsubscribe] = re.findall(r'action="(/unsubscribe/[^"]+)"', page)

    client.post(unsubscribe)

    page = client.get(preferences).content.decode()
    assert "We have stopped sending to this address, and you are unsubscribed" in page
    assert "/unsubscribe/" not in page
    assert status_of(suppressed) == Subscriber.Status.BOUNCED
