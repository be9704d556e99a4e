"""Links that never expire give no more than the mail they came in.

Unsubscribe and feedback links work forever, but a preferences link lasts
PREFERENCES_TOKEN_MAX_AGE. A page reached through a never-expiring link offers the
preferences page only until the mail's own preferences link would have expired; after
that it offers /link/, which mails a fresh link to the address itself.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from digest.models import Paper
from subscriptions.models import Feedback, Subscriber
from tests.helpers.links import feedback_path, unsubscribe_path, working_preferences

pytestmark = pytest.mark.django_db


def after_preferences_links_expire(settings):
    return timezone.now() + timedelta(seconds=settings.PREFERENCES_TOKEN_MAX_AGE + 60)


def undo_in(page: str) -> str:
    match = re.search(r'action="(/resubscribe/[^"]+)"', page)
    assert match, "no Resubscribe button on the page"
    return match.group(1)


def test_more_like_this_from_a_recent_mail_leads_to_the_preferences(client, alice, paper):
    page = client.post(feedback_path(alice, paper.arxiv_id, 1)).content.decode()

    assert "Thanks, noted" in page
    assert working_preferences(client, page)


def test_more_like_this_from_a_mail_older_than_preferences_links_offers_a_fresh_link_instead(
    client, alice, paper, settings
):
    path = feedback_path(alice, paper.arxiv_id, 1)  # in a mail sent now
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.post(path).content.decode()
        assert "Thanks, noted" in page
        assert working_preferences(client, page) == []
    assert "email me a link" in page.lower()  # /link/, which mails the address itself
    assert Feedback.objects.filter(subscriber=alice, signal=1).exists()


def test_the_thanks_page_of_an_old_mail_can_still_undo(client, alice, paper, settings):
    path = feedback_path(alice, paper.arxiv_id, 1)
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.post(path).content.decode()
        undo = re.search(r'<form method="post" action="([^"]+)"', page).group(1)
        client.post(undo, {"undo": "1", "arxiv_id": paper.arxiv_id})
    assert not Feedback.objects.exists()


def test_an_old_feedback_link_to_a_paper_we_no_longer_have_gives_no_preferences_link(
    client, alice, paper, settings
):
    path = feedback_path(alice, paper.arxiv_id, -1)
    Paper.objects.all().delete()
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.get(path).content.decode()
        assert "We no longer have that paper" in page
        assert working_preferences(client, page) == []
    assert "email me a link" in page.lower()  # /link/, which mails the address itself


def test_unsubscribing_from_a_recent_mail_leads_to_the_preferences(client, alice):
    page = client.post(unsubscribe_path(alice)).content.decode()

    assert "You're unsubscribed" in page
    assert working_preferences(client, page)


def test_unsubscribing_from_a_mail_older_than_preferences_links_offers_a_fresh_link_instead(
    client, alice, settings
):
    path = unsubscribe_path(alice)
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.post(path).content.decode()
        assert working_preferences(client, page) == []
    assert "You're unsubscribed" in page
    assert "email me a link" in page.lower()  # /link/, which mails the address itself
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.UNSUBSCRIBED


def test_the_undo_after_an_old_unsubscribe_link_gives_no_fresh_preferences_link(
    client, alice, settings
):
    path = unsubscribe_path(alice)
    with time_machine.travel(after_preferences_links_expire(settings)):
        undo = undo_in(client.post(path).content.decode())
        page = client.post(undo).content.decode()
        assert "Welcome back" in page
        assert working_preferences(client, page) == []
    assert "email me a link" in page.lower()  # /link/, which mails the address itself


def test_the_undo_pressed_again_after_an_old_unsubscribe_link_gives_no_preferences_link(
    client, alice, settings
):
    path = unsubscribe_path(alice)
    with time_machine.travel(after_preferences_links_expire(settings)):
        undo = undo_in(client.post(path).content.decode())
        client.post(undo)
        page = client.post(undo).content.decode()
        assert "You're subscribed" in page
        assert working_preferences(client, page) == []
    assert "email me a link" in page.lower()  # /link/, which mails the address itself


def test_the_undo_after_a_recent_unsubscribe_link_leads_to_the_preferences(client, alice):
    undo = undo_in(client.post(unsubscribe_path(alice)).content.decode())
    page = client.post(undo).content.decode()

    assert "Welcome back" in page
    assert working_preferences(client, page)


def test_a_preferences_link_reached_from_a_mail_expires_with_that_mail(client, alice, settings):
    path = unsubscribe_path(alice)
    with time_machine.travel(timezone.now() + timedelta(days=30)):
        page = client.post(path).content.decode()
        [preferences] = working_preferences(client, page)
    with time_machine.travel(after_preferences_links_expire(settings)):
        assert client.get(preferences).status_code == 400
