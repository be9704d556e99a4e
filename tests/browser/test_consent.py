"""Consent only a person gives: a mail scanner that opens a link in a real browser, with
scripts on, changes nothing; pressing the page's button does."""

from __future__ import annotations

import pytest

from subscriptions import tokens
from subscriptions.models import Feedback, Subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def load_like_a_scanner(page, url: str) -> None:
    """Opens the link, runs its scripts and waits until the page has gone quiet."""
    page.goto(url, wait_until="networkidle")
    page.wait_for_timeout(500)  # a script-driven submit would have left by now


def test_opening_the_confirm_link_with_scripts_on_confirms_nothing(page, browser_settings):
    bob = Subscriber.objects.create(email="bob@example.org")
    load_like_a_scanner(page, tokens.confirm_url(bob))
    button = page.get_by_role("button", name="Confirm my subscription")
    assert button.is_visible()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING
    button.click()
    page.get_by_role("heading", name="You're subscribed").wait_for()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.ACTIVE
    assert page.problems == []


def test_opening_a_feedback_link_with_scripts_on_records_nothing(page, browser_settings, carol):
    load_like_a_scanner(page, tokens.feedback_url(carol, "2501.00002", -1))
    assert not Feedback.objects.filter(subscriber=carol).exists()
    page.get_by_role("button", name="Yes, fewer like this").click()
    page.get_by_role("heading", name="Thanks, noted").wait_for()
    assert Feedback.objects.get(subscriber=carol).signal == -1
    assert page.problems == []
