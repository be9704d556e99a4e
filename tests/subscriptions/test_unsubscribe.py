"""Leaving: RFC 8058 one-click, the page with a button, and the way back."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from subscriptions import services, tokens
from subscriptions.models import Subscriber
from tests.helpers.links import preferences_paths, unsubscribe_path, working_preferences
from tests.helpers.mail import link_in


def resubscribe_path(subscriber) -> str:
    """The undo link the page right after unsubscribing offers."""
    subscriber.refresh_from_db()
    token = tokens.make_token(
        subscriber, tokens.Purpose.RESUBSCRIBE, extra=tokens.consent_mark(subscriber)
    )
    return reverse("subscriptions:resubscribe", args=[token])


@pytest.mark.django_db
def test_one_click_post_without_a_cookie_unsubscribes(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        unsubscribe_path(alice),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert not response.cookies
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED
    assert alice.unsubscribed_at is not None


@pytest.mark.django_db
def test_only_the_exact_one_click_post_goes_without_the_csrf_token(alice):
    """RFC 8058's POST is the one exception: a post of the page's form from anywhere
    else, or any other body, needs the token the page's form carries."""
    client = Client(enforce_csrf_checks=True)
    for body in ("", "List-Unsubscribe=one-click", "List-Unsubscribe=One-Click-Not", "x=1"):
        response = client.post(
            unsubscribe_path(alice), data=body, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 403, body
        assert "/resubscribe/" not in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_the_page_button_works_with_the_csrf_token_its_form_carries(alice):
    client = Client(enforce_csrf_checks=True)
    page = client.get(unsubscribe_path(alice)).content.decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    response = client.post(unsubscribe_path(alice), {"csrfmiddlewaretoken": csrf})
    assert response.status_code == 200
    assert "/resubscribe/" in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_one_click_also_comes_as_multipart(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(unsubscribe_path(alice), {"List-Unsubscribe": "One-Click"})
    assert response.content == b"You are unsubscribed.\n"
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_one_click_is_quick(alice, django_assert_max_num_queries):
    path = unsubscribe_path(alice)
    with django_assert_max_num_queries(4):
        Client().post(path, {"List-Unsubscribe": "One-Click"})


@pytest.mark.django_db
def test_the_url_from_the_tokens_module_works(alice):
    path = tokens.unsubscribe_url(alice).removeprefix("http://testserver")
    assert Client().post(path, {"List-Unsubscribe": "One-Click"}).status_code == 200


@pytest.mark.django_db
def test_the_get_page_shows_a_button_and_changes_nothing(client, alice):
    response = client.get(unsubscribe_path(alice))
    assert response.status_code == 200
    assert 'type="submit"' in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_the_page_button_unsubscribes_and_offers_a_way_back(client, alice):
    response = client.post(unsubscribe_path(alice))
    assert response.status_code == 200
    body = response.content.decode()
    assert "You're unsubscribed" in body
    assert reverse("subscriptions:resubscribe", args=["x"])[:-2] in body
    assert "/preferences/" in body  # where to download or delete what we keep
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_unsubscribing_twice_keeps_the_first_time(client, alice):
    path = unsubscribe_path(alice)
    client.post(path)
    first = Subscriber.objects.get(pk=alice.pk).unsubscribed_at
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get(pk=alice.pk).unsubscribed_at == first


@pytest.mark.django_db
def test_unsubscribe_links_never_expire(client, alice):
    path = unsubscribe_path(alice)
    with time_machine.travel(timezone.now() + timedelta(days=3 * 365)):
        response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_a_tampered_unsubscribe_token_is_a_friendly_page(client, alice):
    response = client.post(unsubscribe_path(alice)[:-4] + "abc/")
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_resubscribe_brings_a_confirmed_subscriber_straight_back(client, alice):
    client.post(unsubscribe_path(alice))
    response = client.post(resubscribe_path(alice))
    assert response.status_code == 200
    assert "Welcome back" in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert alice.unsubscribed_at is None


@pytest.mark.django_db
def test_resubscribe_get_changes_nothing(client, alice):
    client.post(unsubscribe_path(alice))
    assert client.get(resubscribe_path(alice)).status_code == 200
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_resubscribe_of_a_never_confirmed_address_sends_the_confirmation(client, bob):
    client.post(unsubscribe_path(bob))
    response = client.post(resubscribe_path(bob))
    assert "Check your inbox" in response.content.decode()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.UNSUBSCRIBED
    assert "/confirm/" in mail.outbox[0].body


@pytest.mark.django_db
def test_pressing_resubscribe_again_and_again_cannot_flood_a_never_confirmed_inbox(client, bob):
    cache.clear()
    client.post(unsubscribe_path(bob))
    path = resubscribe_path(bob)
    answers = [client.post(path).status_code for _ in range(7)]
    assert answers == [200] * 5 + [429] * 2  # the sign-up's five mails an hour to one inbox
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_resubscribe_needs_csrf(alice):
    Client().post(unsubscribe_path(alice))
    response = Client(enforce_csrf_checks=True).post(resubscribe_path(alice))
    assert response.status_code == 403
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_a_bounced_address_is_not_revived_by_resubscribe(client, alice):
    Subscriber.objects.filter(pk=alice.pk).update(status=Subscriber.Status.BOUNCED)
    response = client.post(resubscribe_path(alice))
    assert "cannot send" in response.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED


@pytest.mark.django_db
def test_the_unsubscribe_token_does_not_work_on_resubscribe(client, alice):
    client.post(unsubscribe_path(alice))
    token = tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)
    response = client.post(reverse("subscriptions:resubscribe", args=[token]))
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_the_undo_offered_after_unsubscribing_brings_the_subscriber_back(client, alice):
    page = client.post(unsubscribe_path(alice)).content.decode()
    undo = re.search(r'action="(/resubscribe/[^"]+)"', page).group(1)
    assert "Welcome back" in client.post(undo).content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_the_undo_is_short_lived(client, alice):
    page = client.post(unsubscribe_path(alice)).content.decode()
    undo = re.search(r'action="(/resubscribe/[^"]+)"', page).group(1)
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        response = client.post(undo)
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_an_old_unsubscribe_link_days_later_offers_no_undo_but_a_fresh_sign_up(client, alice):
    path = unsubscribe_path(alice)
    client.post(path)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        page = client.post(path).content.decode()
    assert "/resubscribe/" not in page
    assert "Sign up again" in page


@pytest.mark.django_db
def test_an_undo_from_an_earlier_unsubscribe_does_not_undo_a_later_one(client, alice):
    page = client.post(unsubscribe_path(alice)).content.decode()
    undo = re.search(r'action="(/resubscribe/[^"]+)"', page).group(1)
    client.post(undo)
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        client.post(unsubscribe_path(alice))
        response = client.post(undo)
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_the_undo_pressed_again_or_reloaded_says_they_are_subscribed(client, alice):
    undo = resubscribe_form(client.post(unsubscribe_path(alice)).content.decode())
    assert "Welcome back" in client.post(undo).content.decode()
    for again in (client.post(undo), client.get(undo)):  # a second press; the page reloaded
        page = again.content.decode()
        assert again.status_code == 200
        assert "You're subscribed" in page
        assert "/resubscribe/" not in page
        assert working_preferences(client, page)
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


def resubscribe_form(page: str) -> str:
    match = re.search(r'action="(/resubscribe/[^"]+)"', page)
    assert match, "no Resubscribe button on the page"
    return match.group(1)


@pytest.mark.django_db
def test_the_resubscribe_button_on_a_preferences_page_mailed_after_leaving_brings_them_back(
    client,
):
    client.post(reverse("subscriptions:signup"), {"email": "carol@example.org"})
    client.post(link_in(mail.outbox[0], "/confirm/"))
    client.post(unsubscribe_path(Subscriber.objects.get()))

    with time_machine.travel(timezone.now() + timedelta(minutes=10)):
        client.post(reverse("subscriptions:request_link"), {"email": "carol@example.org"})
        page = client.get(link_in(mail.outbox[-1], "/preferences/")).content.decode()
        response = client.post(resubscribe_form(page))

    assert response.status_code == 200
    assert "Welcome back" in response.content.decode()
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_a_preferences_link_from_before_a_recent_unsubscribe_cannot_resubscribe(client, alice):
    # Every digest carries a preferences link, and digests get forwarded: minutes after
    # the owner left, such a link must not bring them back.
    preferences = tokens.preferences_url(alice).removeprefix("http://testserver")
    with time_machine.travel(timezone.now() + timedelta(minutes=1)):
        client.post(unsubscribe_path(alice))
    with time_machine.travel(timezone.now() + timedelta(minutes=5)):
        page = Client().get(preferences).content.decode()
    assert "You are unsubscribed" in page
    assert "/resubscribe/" not in page
    assert "Sign up again" in page


@pytest.mark.django_db
def test_a_preferences_link_from_before_an_old_unsubscribe_cannot_resubscribe(client, alice):
    preferences = tokens.preferences_url(alice).removeprefix("http://testserver")
    client.post(unsubscribe_path(alice))
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        page = client.get(preferences).content.decode()
    assert "/resubscribe/" not in page
    assert "Sign up again" in page


@pytest.mark.django_db
def test_a_preferences_link_mailed_after_the_unsubscribe_can_resubscribe(client, alice):
    client.post(unsubscribe_path(alice))
    with time_machine.travel(timezone.now() + timedelta(days=2)):
        preferences = tokens.preferences_url(alice).removeprefix("http://testserver")  # /link/
        page = client.get(preferences).content.decode()
        assert "Welcome back" in client.post(resubscribe_form(page)).content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_the_preferences_pages_unsubscribe_button_works_and_leads_back(client, alice):
    preferences = tokens.preferences_url(alice).removeprefix("http://testserver")
    page = client.get(preferences).content.decode()
    [unsubscribe] = re.findall(r'action="(/unsubscribe/[^"]+)"', page)
    left = client.post(unsubscribe).content.decode()
    assert "You're unsubscribed" in left
    assert preferences_paths(left)
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_an_old_unsubscribe_link_opened_again_says_so(client, alice):
    path = unsubscribe_path(alice)
    client.post(path)
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        page = client.get(path).content.decode()
    assert "You're already unsubscribed" in page
    assert "Unsubscribe?" not in page
    assert "Sign up again" in page


@pytest.mark.django_db
def test_the_unsubscribe_link_opened_again_soon_after_offers_no_undo(client, alice):
    # The link sits in every mail, forwarded ones too: whoever opens it after the owner
    # left may be someone else, and must not be able to bring them back.
    path = unsubscribe_path(alice)
    client.post(path)
    for opened_by in (Client(), client):
        page = opened_by.get(path).content.decode()
        assert "You're already unsubscribed" in page
        assert "/resubscribe/" not in page
        assert "Sign up again" in page


@pytest.mark.django_db
def test_only_the_press_that_unsubscribed_is_offered_the_undo(client, alice):
    path = unsubscribe_path(alice)
    assert "/resubscribe/" in client.post(path).content.decode()
    again = Client().post(path).content.decode()
    assert "You're already unsubscribed" in again
    assert "/resubscribe/" not in again
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_one_click_answers_plain_text_without_an_undo(alice):
    response = Client(enforce_csrf_checks=True).post(
        unsubscribe_path(alice),
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response["Content-Type"] == "text/plain"
    assert response.content == b"You are unsubscribed.\n"
    assert not response.cookies


@pytest.mark.django_db
def test_an_undo_does_not_undo_a_later_unsubscribe_in_the_same_second(client, alice):
    with time_machine.travel("2026-12-03 09:00:00.100000+00:00", tick=False):
        undo = resubscribe_form(client.post(unsubscribe_path(alice)).content.decode())
        client.post(undo)
    with time_machine.travel("2026-12-03 09:00:00.600000+00:00", tick=False):
        client.post(unsubscribe_path(alice))
        response = client.post(undo)
    assert response.status_code == 400
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_of_two_stale_reads_only_the_first_unsubscribe_counts(alice):
    first_press, second_press = (
        Subscriber.objects.get(pk=alice.pk),
        Subscriber.objects.get(pk=alice.pk),
    )

    assert services.subscriber_unsubscribe(first_press) is True
    left_at = Subscriber.objects.get(pk=alice.pk).unsubscribed_at
    assert services.subscriber_unsubscribe(second_press) is False

    alice.refresh_from_db()
    assert alice.unsubscribed_at == left_at
    assert second_press.status == Subscriber.Status.UNSUBSCRIBED  # it sees what happened


@contextmanager
def another_press_before_the_first_writes(press):
    """Runs `press` once, when the first press is about to write the subscriber's row: both
    read the subscriber as active, as two presses at the same moment do."""
    pressed: list = []
    waiting = [True]

    def wrapper(execute, sql, params, many, context):
        if waiting and sql.startswith('UPDATE "subscriptions_subscriber"'):
            waiting.clear()  # the other press writes too: it must not wait for itself
            pressed.append(press())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield pressed


@pytest.mark.django_db
def test_of_two_simultaneous_presses_only_one_is_offered_the_undo(alice):
    path = unsubscribe_path(alice)
    with another_press_before_the_first_writes(lambda: Client().post(path)) as second:
        first = Client().post(path)

    pages = [first.content.decode(), second[0].content.decode()]
    undos = [re.search(r'action="(/resubscribe/[^"]+)"', page) for page in pages]
    assert [bool(undo) for undo in undos].count(True) == 1
    assert sum("You're already unsubscribed" in page for page in pages) == 1
    [undo] = [u.group(1) for u in undos if u]
    assert "Welcome back" in Client().post(undo).content.decode()  # the one offered works
