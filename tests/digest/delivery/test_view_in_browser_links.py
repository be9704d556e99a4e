"""The view-in-browser page shows the digest as it was mailed, links included.

Its link never expires, so nothing reached through it may outlast the mail's own
preferences link: the page's links are signed at the time the digest was sent, and
once that mail's preferences link has expired the page offers /link/ instead.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from digest.delivery import rendering
from digest.models import Delivery
from tests.factories import make_sent_digest
from tests.helpers.links import paths_to, working_preferences

pytestmark = pytest.mark.django_db
REQUEST_LINK = reverse("subscriptions:request_link")


@pytest.fixture
def delivery() -> Delivery:
    """Alice's digest, sent just now with one paper."""
    return make_sent_digest()


def after_preferences_links_expire(settings):
    return timezone.now() + timedelta(seconds=settings.PREFERENCES_TOKEN_MAX_AGE + 60)


def test_a_recent_digest_in_the_browser_leads_to_the_preferences(client, delivery):
    page = client.get(rendering.view_url(delivery)).content.decode()

    assert working_preferences(client, page)


def test_an_old_digest_in_the_browser_offers_a_fresh_link_instead_of_preferences(
    client, delivery, settings
):
    view = rendering.view_url(delivery)  # the link in the mail, signed when it was sent
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.get(view).content.decode()
        assert working_preferences(client, page) == []
    assert REQUEST_LINK in page


def test_no_link_on_an_old_digests_page_leads_to_a_working_preferences_page(
    client, delivery, settings
):
    view = rendering.view_url(delivery)
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.get(view).content.decode()
        for feedback in paths_to(page, "/feedback/"):
            thanks = client.post(feedback).content.decode()
            assert "Thanks, noted" in thanks
            assert working_preferences(client, thanks) == []
        [unsubscribe] = paths_to(page, "/unsubscribe/")
        left = client.post(unsubscribe).content.decode()
        assert working_preferences(client, left) == []
        undo = re.search(r'action="(/resubscribe/[^"]+)"', left).group(1)
        back = client.post(undo).content.decode()
        assert "Welcome back" in back
        assert working_preferences(client, back) == []


def test_the_archive_opens_no_door_the_digest_itself_did_not(client, delivery, settings):
    view = rendering.view_url(delivery)
    with time_machine.travel(after_preferences_links_expire(settings)):
        page = client.get(view).content.decode()
        digests = reverse("digest:view", args=["x"]).removesuffix("x/")
        [archive] = [path for path in paths_to(page, digests) if path.endswith("/archive/")]
        listed = client.get(archive).content.decode()
        for digest in paths_to(listed, digests):
            assert working_preferences(client, client.get(digest).content.decode()) == []
