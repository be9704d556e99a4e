"""Confirming an address: the GET page only shows a button; the POST activates."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from subscriptions import services, tokens
from subscriptions.models import Subscriber
from tests.helpers.mail import html_part, link_in


def confirm_path(subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.CONFIRM)
    return reverse("subscriptions:confirm", args=[token])


@pytest.mark.django_db
def test_the_link_from_the_sign_up_mail_confirms_on_post(client):
    client.post(reverse("subscriptions:signup"), {"email": "carol@example.org"})
    path = link_in(mail.outbox[0], "/confirm/")
    page = client.get(path)
    assert page.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING
    response = client.post(path)
    assert response.status_code == 200
    subscriber = Subscriber.objects.get()
    assert subscriber.status == Subscriber.Status.ACTIVE
    assert subscriber.confirmed_at is not None
    assert "/preferences/" in response.content.decode()


@pytest.mark.django_db
def test_the_get_page_changes_nothing_and_waits_for_a_person_to_press_the_button(client, bob):
    response = client.get(confirm_path(bob))
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING
    body = response.content.decode()
    assert "data-autosubmit" not in body  # no script submits it (scanners run scripts)
    assert "<script>" not in body
    assert 'type="submit"' in body
    assert "script-src 'self'" in response["Content-Security-Policy"]


@pytest.mark.django_db
def test_the_link_opened_again_after_confirming_leads_to_the_preferences(client, bob):
    path = confirm_path(bob)
    client.post(path)
    page = client.get(path).content.decode()
    assert "Your subscription is confirmed" in page
    assert "Confirm my subscription" not in page
    assert re.search(r'href="[^"]*/preferences/[^"]+/"', page)
    assert re.search(r'href="[^"]*/preferences/[^"]+/papers/"', page)


@pytest.mark.django_db
def test_a_double_submit_confirms_once(client, bob):
    path = confirm_path(bob)
    client.post(path)
    first = Subscriber.objects.get(pk=bob.pk).confirmed_at
    assert client.post(path).status_code == 200
    assert Subscriber.objects.get(pk=bob.pk).confirmed_at == first


@pytest.mark.django_db
def test_a_tampered_token_gets_a_friendly_page_with_a_fresh_link_form(client, bob):
    path = confirm_path(bob)
    response = client.post(path[:-3] + "xx/")
    assert response.status_code == 400
    body = response.content.decode()
    assert "This link does not work" in body
    assert reverse("subscriptions:request_link") in body
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING


@pytest.mark.django_db
def test_a_token_for_another_purpose_does_not_confirm(client, bob):
    token = tokens.make_token(bob, tokens.Purpose.UNSUBSCRIBE)
    response = client.post(reverse("subscriptions:confirm", args=[token]))
    assert response.status_code == 400
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING


@pytest.mark.django_db
def test_an_expired_confirm_link_says_so(client, bob, settings):
    path = confirm_path(bob)
    later = timezone.now() + timedelta(seconds=settings.CONFIRM_TOKEN_MAX_AGE + 60)
    with time_machine.travel(later):
        response = client.post(path)
    assert response.status_code == 400
    assert "This link has expired" in response.content.decode()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING


@pytest.mark.django_db
def test_a_link_for_a_deleted_subscriber_is_a_bad_link_not_a_500(client, bob):
    path = confirm_path(bob)
    bob.delete()
    assert client.get(path).status_code == 400


@pytest.mark.django_db
def test_a_fresh_confirmation_mail_brings_an_unsubscribed_address_back(client, alice):
    services.subscriber_unsubscribe(alice)
    services.subscriber_sign_up("alice@example.org")  # signs up again: a new mail
    client.post(link_in(mail.outbox[-1], "/confirm/"))
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert alice.unsubscribed_at is None


@pytest.mark.django_db
def test_the_link_that_brought_someone_back_opened_again_says_they_are_confirmed(client, alice):
    services.subscriber_unsubscribe(alice)
    services.subscriber_sign_up("alice@example.org")
    path = link_in(mail.outbox[-1], "/confirm/")
    client.post(path)

    again = client.get(path)  # the next day, from the same mail; or a reload of the page
    resent = client.post(path)

    assert again.status_code == resent.status_code == 200
    assert "Your subscription is confirmed" in again.content.decode()
    assert "This link has expired" not in resent.content.decode()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE


@pytest.mark.django_db
def test_an_old_confirm_link_does_not_bring_back_someone_who_unsubscribed_since(client, bob):
    old_link = tokens.confirm_url(bob).removeprefix("http://testserver")
    client.post(old_link)
    bob.refresh_from_db()
    services.subscriber_unsubscribe(bob)
    response = client.post(old_link)
    assert response.status_code == 400
    assert "This link does not work" in response.content.decode()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.UNSUBSCRIBED


@pytest.mark.django_db
def test_a_confirm_link_made_before_the_first_unsubscribe_works_only_until_then(client, bob):
    link = tokens.confirm_url(bob).removeprefix("http://testserver")
    assert client.get(link).status_code == 200
    services.subscriber_unsubscribe(bob)
    assert client.get(link).status_code == 400


@pytest.mark.django_db
def test_confirm_needs_a_csrf_token(bob):
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(confirm_path(bob))
    assert response.status_code == 403
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING


@pytest.mark.django_db
def test_the_confirmation_mail_has_both_parts_with_the_link_and_its_lifetime(client):
    client.post(reverse("subscriptions:signup"), {"email": "carol@example.org"})
    message = mail.outbox[0]
    path = link_in(message, "/confirm/")
    html = html_part(message)
    assert path in html
    assert "works for 7 days" in message.body
    assert "works for 7 days" in html
    assert message.subject == "Confirm your Paperboy subscription"
