"""The digest's web pages in a real browser: the archive, and the outbox a new user opens.

Screenshots at 390, 600 and 1280 px, light and dark, go to var/screenshots/ for a person
to look at; the tests check what a person would check first.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from digest.delivery.links import Links
from digest.mail import outbox
from digest.models import Delivery, DeliveryItem
from subscriptions import services
from subscriptions.models import Subscriber
from tests.factories import make_paper, make_subscriber
from tests.helpers.screenshots import SCREENSHOTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SIZES = [(1280, "light"), (1280, "dark"), (600, "light"), (600, "dark"), (390, "light"),
         (390, "dark")]  # fmt: skip


def shoot_everywhere(browser, url: str, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for width, scheme in SIZES:
        context = browser.new_context(
            viewport={"width": width, "height": 900}, color_scheme=scheme, locale="en-GB"
        )
        page = context.new_page()
        page.goto(url)
        page.screenshot(path=str(SCREENSHOTS / f"{name}-{width}-{scheme}.png"), full_page=True)
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"{name} scrolls sideways at {width} px"
        context.close()


def test_the_archive_lists_earlier_digests_at_every_width(browser, browser_settings):
    alice = make_subscriber("alice@example.org", keywords=["distillation"])
    paper = make_paper("Knowledge distillation for small language models")
    rows = []
    for n in range(24):
        row = Delivery.objects.create(
            subscriber=alice,
            digest_date=date(2026, 11, 1) + timedelta(days=n),
            status=Delivery.Status.SENT,
            sent_at=timezone.now() - timedelta(days=24 - n),
            subject=f"{n % 8 + 2} papers · “Born Again Networks” and more on distillation",
        )
        DeliveryItem.objects.create(delivery=row, paper=paper, rank=1, reason="cs.LG")
        rows.append(row)

    shoot_everywhere(browser, Links().archive(rows[-1]), "archive")

    page = browser.new_page()
    page.goto(Links().view(rows[-1]))
    page.get_by_role("link", name="Earlier digests").click()
    page.get_by_role("heading", name="Your earlier digests").wait_for()
    assert page.get_by_role("link", name="Older →").is_visible()
    page.get_by_role("link", name="Older →").click()
    page.get_by_text("Page 2 of 2").wait_for()
    page.close()


def test_the_outbox_preview_lets_a_person_click_the_mails_button(browser, browser_settings):
    browser_settings.DEBUG = True
    services.subscriber_sign_up("carol@example.org", time_zone="UTC")
    [message] = outbox.list_messages()
    assert not mail.outbox

    listing = browser_settings.SITE_URL + reverse("digest:outbox")
    shoot_everywhere(browser, listing, "outbox")
    shoot_everywhere(
        browser,
        browser_settings.SITE_URL + reverse("digest:outbox_message", args=[message.name]),
        "outbox-message",
    )

    page = browser.new_page()
    page.goto(listing)
    page.get_by_role("link", name=message.subject).click()
    frame = page.frame_locator("iframe.email")
    frame.get_by_role("link", name="Confirm").first.click()
    # The confirmation page opens in the window, not in the frame it refuses.
    page.wait_for_url("**/confirm/**")
    heading = page.get_by_role("heading", name=re.compile("Confirm your subscription|subscribed"))
    heading.wait_for()
    page.close()
    assert Subscriber.objects.get().email == "carol@example.org"
