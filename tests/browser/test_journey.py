"""The subscriber's journey in a real browser, from the landing page to leaving and back."""

from __future__ import annotations

import re
import time

import pytest
from django.utils import timezone

from digest.mail.outbox import list_messages
from digest.models import Paper
from subscriptions import tokens
from subscriptions.models import Feedback, Subscriber
from tests.helpers.screenshots import shoot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def add_papers() -> None:
    today = timezone.localdate()
    rows = [
        ("2501.00001", "Parsing with transformers", ["cs.CL"], "Parsing text with attention.", 40),
        ("2501.00002", "Robot arms that fold laundry", ["cs.RO"], "Folding laundry.", 5),
        ("2501.00003", "A survey of galaxy clusters", ["astro-ph.CO"], "Galaxy clusters.", 1),
    ]
    for arxiv_id, title, categories, abstract, upvotes in rows:
        Paper.objects.create(
            arxiv_id=arxiv_id, title=title, title_text=title, abstract_text=abstract,
            authors=["Ada Lovelace", "Alan Turing"], categories=categories,
            primary_category=categories[0], announced_on=today, upvotes=upvotes,
        )  # fmt: skip


def link_from_outbox(path_part: str) -> str | None:
    for message in list_messages():
        match = re.search(rf"(https?://\S+{path_part}\S+)", message.text)
        if match:
            return match.group(1)
    return None


def wait_for(check, seconds: float = 10.0):
    """The server mails and writes after the page has gone out: poll for the result."""
    deadline = time.monotonic() + seconds
    while not (result := check()):
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.05)
    return result


def test_sign_up_confirm_tune_leave_and_come_back(page, browser_settings, browser_api):
    add_papers()

    # Landing page: the sample of today's papers and the sign-up form.
    page.goto("/")
    assert page.get_by_role("heading", name="Trending today").is_visible()
    assert page.get_by_text("Parsing with transformers").is_visible()
    shoot(page, "01-landing")
    page.get_by_label("Your email address").fill("carol@example.org")
    page.get_by_label("cs.CL — Computation and Language").check()
    page.get_by_label("Keywords").fill('parsing "syntax trees"')
    page.get_by_role("button", name="Subscribe").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    shoot(page, "02-check-inbox")
    carol = wait_for(lambda: Subscriber.objects.filter(email="carol@example.org").first())
    assert carol.status == Subscriber.Status.PENDING
    assert carol.time_zone == "Europe/Berlin"  # from the browser, by our script

    # Confirm from the outbox link: one press of the button on the page.
    page.goto(wait_for(lambda: link_from_outbox("/confirm/")))
    page.get_by_role("button", name="Confirm my subscription").click()
    page.get_by_role("heading", name="You're subscribed").wait_for()
    shoot(page, "03-confirmed")
    carol.refresh_from_db()
    assert carol.status == Subscriber.Status.ACTIVE

    # Preferences, with the live preview following the form.
    page.get_by_role("link", name="Choose my topics").click()
    page.get_by_role("heading", name="Your preferences").wait_for()
    preview = page.locator("#preview")
    preview.get_by_text("Parsing with transformers").wait_for()
    shoot(page, "04-preferences")
    page.get_by_label("cs.CL Computation and Language").uncheck()
    page.get_by_label("Find a category").fill("robot")
    page.get_by_label("cs.RO Robotics").check()
    page.get_by_label("Keywords and phrases").fill("laundry -parsing")
    preview.get_by_text("Robot arms that fold laundry").wait_for()
    page.wait_for_function(
        "!document.querySelector('#preview').textContent.includes('Parsing with transformers')"
    )
    assert carol.interest.categories == ["cs.CL"]  # the preview saved nothing
    shoot(page, "05-preview-changed")
    page.get_by_label("Papers per digest (1–50)").fill("5")
    page.get_by_role("button", name="Save my preferences").click()
    page.get_by_text("Saved.").wait_for()
    carol.interest.refresh_from_db()
    assert carol.interest.categories == ["cs.RO"]
    assert carol.interest.keywords == ["laundry", "-parsing"]

    # Feedback from a digest link: the page asks, the button records it.
    page.goto(tokens.feedback_url(carol, "2501.00002", 1))
    page.get_by_role("button", name="Yes, more like this").click()
    page.get_by_role("heading", name="Thanks, noted").wait_for()
    shoot(page, "06-feedback")
    assert Feedback.objects.get(subscriber=carol).signal == 1
    page.goto(tokens.preferences_url(carol) + "#feedback")
    page.get_by_role("button", name="Undo: Robot arms that fold laundry").click()
    page.get_by_text("None yet.").wait_for()
    assert not Feedback.objects.filter(subscriber=carol).exists()

    # The page route: GET shows a button, and there is a way back.
    page.goto(tokens.unsubscribe_url(carol))
    shoot(page, "07-unsubscribe")
    page.get_by_role("button", name="Unsubscribe").click()
    page.get_by_role("heading", name="You're unsubscribed").wait_for()
    shoot(page, "08-unsubscribed")
    page.get_by_role("button", name="Resubscribe").click()
    page.get_by_role("heading", name="Welcome back").wait_for()
    shoot(page, "09-welcome-back")
    carol.refresh_from_db()
    assert carol.status == Subscriber.Status.ACTIVE

    # Unsubscribe in one click (RFC 8058): a mail provider's POST, no cookie, no page.
    api = browser_api.new_context()
    response = api.post(tokens.unsubscribe_url(carol), form={"List-Unsubscribe": "One-Click"})
    api.dispose()
    assert response.status == 200
    carol.refresh_from_db()
    assert carol.status == Subscriber.Status.UNSUBSCRIBED

    # The link opened again says so, rather than asking once more.
    page.goto(tokens.unsubscribe_url(carol))
    page.get_by_role("heading", name="You're already unsubscribed").wait_for()
    assert page.get_by_role("button", name="Unsubscribe", exact=True).count() == 0

    assert page.problems == []  # no CSP violations, no script errors


def test_a_bad_link_offers_a_fresh_one_and_the_request_link_form_works(page, browser_settings):
    page.goto("/preferences/not-a-real-token/")
    page.get_by_role("heading", name="This link does not work").wait_for()
    page.problems.clear()  # the page itself answers 400, on purpose
    shoot(page, "10-bad-link")
    page.get_by_label("Your email address").fill("nobody@example.org")
    page.get_by_role("button", name="Send me my link").click()
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert list_messages() == []
    assert page.problems == []


def test_the_sign_up_form_works_with_the_keyboard_alone(page, browser_settings):
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "id_email":
            break
    assert page.evaluate("document.activeElement.id") == "id_email"
    page.keyboard.type("kim@example.org")
    page.keyboard.press("Enter")
    page.get_by_role("heading", name="Check your inbox").wait_for()
    assert wait_for(lambda: Subscriber.objects.filter(email="kim@example.org").exists())
    assert page.problems == []


def test_without_scripts_the_confirm_page_shows_a_button_that_works(
    browser, live_server, browser_settings
):
    bob = Subscriber.objects.create(email="bob@example.org")
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.goto(tokens.confirm_url(bob))
    button = page.get_by_role("button", name="Confirm my subscription")
    assert button.is_visible()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.PENDING  # the page alone changes nothing
    button.click()
    page.get_by_role("heading", name="You're subscribed").wait_for()
    bob.refresh_from_db()
    assert bob.status == Subscriber.Status.ACTIVE
    context.close()


def test_preferences_suggest_the_browsers_time_zone(page, browser_settings):
    dana = Subscriber.objects.create(email="dana@example.org", status="active")
    page.goto(tokens.preferences_url(dana))
    assert page.get_by_label("Time zone").input_value() == "Europe/Berlin"
    assert page.get_by_text("We filled in your browser's time zone").is_visible()
    dana.refresh_from_db()
    assert dana.time_zone == "UTC"  # a suggestion until saved
    page.get_by_role("button", name="Save my preferences").click()
    page.get_by_text("Saved.").wait_for()
    dana.refresh_from_db()
    assert dana.time_zone == "Europe/Berlin"
    assert page.problems == []
