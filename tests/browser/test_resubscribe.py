"""Leaving and coming back from the preferences page, and the way from "more like
this" in a mail to the preferences, pressed in a real browser."""

from __future__ import annotations

import pytest
from django.utils import timezone

from subscriptions import tokens
from subscriptions.models import Subscriber

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def unsubscribed_from_the_preferences_page(page) -> tuple[Subscriber, str]:
    """Alice, who pressed Unsubscribe on her preferences page; and that page's link."""
    alice = Subscriber.objects.create(
        email="alice@example.org", status="active", confirmed_at=timezone.now()
    )
    preferences = tokens.preferences_url(alice)
    page.goto(preferences)
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You're unsubscribed").wait_for()
    return alice, preferences


def test_unsubscribe_from_the_preferences_page_and_come_back_at_once(page, browser_settings):
    alice, preferences = unsubscribed_from_the_preferences_page(page)

    page.get_by_role("button", name="Resubscribe").click()

    page.get_by_role("heading", name="Welcome back").wait_for()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert page.problems == []


def test_the_page_after_resubscribing_reloaded_says_they_are_subscribed(page, browser_settings):
    alice, _ = unsubscribed_from_the_preferences_page(page)
    page.get_by_role("button", name="Resubscribe").click()
    page.get_by_role("heading", name="Welcome back").wait_for()

    page.reload()

    page.get_by_role("heading", name="You're subscribed").wait_for()
    page.get_by_role("link", name="Review my preferences").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.ACTIVE
    assert page.problems == []


def test_a_preferences_link_from_before_leaving_offers_signing_up_again(page, browser_settings):
    # The link may be a forwarded digest's: only a link mailed since, or a new sign-up,
    # brings the subscriber back.
    alice, preferences = unsubscribed_from_the_preferences_page(page)

    page.goto(preferences)

    page.get_by_role("link", name="Sign up again").wait_for()
    assert page.get_by_role("button", name="Resubscribe").count() == 0
    assert page.problems == []


def test_more_like_this_leads_on_to_the_preferences(page, browser_settings, carol):
    page.goto(tokens.feedback_url(carol, "2501.00002", 1))
    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_role("link", name="My preferences").click()

    page.get_by_role("heading", name="Your preferences").wait_for()
    assert page.problems == []
