"""The admin's preview of a delivery: for staff who may see deliveries, and acting for
nobody (its links carry no token, so looking at a digest hands out no subscriber's keys)."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from digest.delivery import rendering
from digest.models import Delivery
from tests.factories import make_sent_digest
from tests.helpers.links import working_preferences

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivery() -> Delivery:
    """Alice's digest, sent just now with one paper."""
    return make_sent_digest()


def staff(client, *codenames: str):
    user = User.objects.create_user("staffer", password="x", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


def preview(client, delivery: Delivery):
    return client.get(reverse("digest:admin_preview", args=[delivery.public_id]))


def test_staff_who_may_see_deliveries_see_the_digest(client, delivery):
    page = preview(staff(client, "view_delivery"), delivery)

    assert page.status_code == 200
    assert "Parsing with transformers" in page.content.decode()


def test_staff_without_the_deliveries_permission_are_refused(client, delivery):
    page = preview(staff(client, "view_paper", "view_source"), delivery)

    assert page.status_code == 403
    assert "Parsing with transformers" not in page.content.decode()


def test_the_preview_carries_no_working_link_of_the_subscriber(client, admin_client, delivery):
    html = preview(admin_client, delivery).content.decode()
    client.logout()

    assert working_preferences(client, html) == []
    paths = re.findall(r'href="http://testserver(/[^"]+)"', html)
    assert any(path.startswith("/unsubscribe/") for path in paths)  # in its place, inert
    assert all("staff-preview" in path for path in paths if not path.startswith("/static/"))
    assert not any(client.get(path).status_code == 200 for path in paths)


def test_the_preview_opens_no_feed_of_the_subscriber(admin_client, delivery):
    html = preview(admin_client, delivery).content.decode()

    assert rendering.feed_url(delivery.subscriber) not in html
    assert "/feed/staff-preview/" in html
