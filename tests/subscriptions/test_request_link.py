"""Asking for a preferences link by address: one answer whether or not we know it."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from subscriptions import tasks as subscription_tasks
from tests.helpers.mail import html_part, link_in

URL = reverse("subscriptions:request_link")


def post(client, email, **extra):
    return client.post(URL, {"email": email, **extra})


@pytest.mark.django_db
def test_the_form_page_shows(client):
    response = client.get(URL)
    assert response.status_code == 200
    assert "Send me my link" in response.content.decode()


@pytest.mark.django_db
def test_a_known_address_gets_a_working_preferences_link(client, alice):
    response = post(client, "Alice@Example.org")
    assert response.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.org"]
    assert "preferences" in message.subject.lower()
    page = client.get(link_in(message, "/preferences/"))
    assert page.status_code == 200
    assert "alice@example.org" in page.content.decode()


@pytest.mark.django_db
def test_known_and_unknown_addresses_get_the_same_answer(client, alice):
    known = post(client, "alice@example.org")
    unknown = post(client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_a_pending_address_also_gets_its_confirm_link(client, bob):
    post(client, "bob@example.org")
    assert "/confirm/" in mail.outbox[0].body


@pytest.mark.django_db
def test_a_bad_address_gets_a_clear_message(client):
    response = post(client, "nope")
    assert response.status_code == 400
    assert "does not look like an email address" in response.content.decode()


@pytest.mark.django_db
def test_the_honeypot_drops_bots_with_the_same_answer(client, alice):
    honest = post(client, "nobody@example.org")
    bot = post(client, "alice@example.org", website="x")
    assert bot.content == honest.content
    assert mail.outbox == []


@pytest.mark.django_db
def test_link_requests_for_one_address_are_rate_limited(client, alice):
    for _ in range(5):
        assert post(client, "alice@example.org").status_code == 200
    response = post(client, "alice@example.org")
    assert response.status_code == 429
    assert "Please wait a little" in response.content.decode()
    assert len(mail.outbox) == 5


@pytest.mark.django_db
def test_unknown_addresses_are_rate_limited_the_same_way(client):
    statuses = [post(client, "nobody@example.org").status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]


@pytest.mark.django_db
def test_link_requests_from_one_ip_are_rate_limited(client):
    statuses = [post(client, f"u{i}@example.org").status_code for i in range(21)]
    assert statuses[-1] == 429
    assert statuses[:-1] == [200] * 20


@pytest.mark.django_db
def test_the_link_mail_has_both_parts(client, alice):
    post(client, "alice@example.org")
    message = mail.outbox[0]
    path = link_in(message, "/preferences/")
    assert path in html_part(message)
    assert "/confirm/" not in message.body  # alice has confirmed already


@pytest.mark.django_db
def test_a_failing_mail_server_fails_the_task_for_celery_to_retry_never_the_page(
    client, alice, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", 1  # nothing listens there
    task = subscription_tasks.subscriber_request_link
    with pytest.raises(OSError):
        task.run("alice@example.org")
    assert OSError in task.autoretry_for


@pytest.mark.django_db
def test_the_view_only_enqueues_and_answers_alike_for_known_and_unknown_addresses(
    client, alice, monkeypatch, django_capture_on_commit_callbacks
):
    # Before: the view looked the address up and mailed inside the request (after the
    # body, but still holding the worker), so the next request's wait told them apart.
    queued: list[str] = []
    task = subscription_tasks.subscriber_request_link._get_current_object()
    monkeypatch.setattr(task, "delay", lambda email: queued.append(email))
    # Celery's own delay_on_commit again (the conftest runs the task inline instead).
    monkeypatch.setattr(task, "delay_on_commit", type(task).delay_on_commit.__get__(task))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        known = post(client, "alice@example.org")
        unknown = post(client, "nobody@example.org")
        assert mail.outbox == []  # nothing looked up or sent in the request
        assert queued == []  # enqueued only once the request's transaction commits
    assert len(callbacks) == 2
    assert queued == ["alice@example.org", "nobody@example.org"]
    assert known.status_code == unknown.status_code == 200
    assert known.content == unknown.content
    assert mail.outbox == []


@pytest.mark.django_db
def test_the_worker_mails_the_link_to_a_known_address_only(alice):
    subscription_tasks.subscriber_request_link("nobody@example.org")
    assert mail.outbox == []
    subscription_tasks.subscriber_request_link("alice@example.org")
    assert [m.to for m in mail.outbox] == [["alice@example.org"]]
