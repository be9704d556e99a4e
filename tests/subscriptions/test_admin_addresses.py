"""Staff adding or editing a subscriber in the admin keep one subscriber per mailbox, as the
sign-up does: the address is stored in the same form, and a second spelling of a known
mailbox is refused with a message that names the subscriber who has it."""

from __future__ import annotations

import html
import re

import pytest
from django.urls import reverse

from subscriptions.models import Subscriber
from tests.factories import make_subscriber
from tests.helpers.adminforms import submitted

pytestmark = pytest.mark.django_db

ADD = reverse("admin:subscriptions_subscriber_add")
SUBSCRIBERS = reverse("admin:subscriptions_subscriber_changelist")


def change_page(subscriber: Subscriber) -> str:
    return reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])


def save(client, url: str, **changes: str):
    """Posts the admin form at `url` as a browser would, with these fields changed."""
    data = submitted(client.get(url).content.decode())
    data.update({name: [value] for name, value in changes.items()})
    return client.post(url, data)


def errors(response) -> list[str]:
    found = re.findall(
        r'<ul class="errorlist[^"]*"[^>]*>(.*?)</ul>', response.content.decode(), re.S
    )
    return [html.unescape(re.sub(r"<[^>]+>", "", e)).strip() for e in found]


def stored() -> list[str]:
    return sorted(Subscriber.objects.values_list("email", flat=True))


def test_a_new_subscriber_is_stored_with_the_ascii_domain(admin_client):
    response = save(admin_client, ADD, email="idn@EXÄMPLE.test")
    assert response.status_code == 302, errors(response)
    assert stored() == ["idn@xn--exmple-cua.test"]


def test_a_new_subscriber_gets_the_usual_hour_and_weekday_unless_staff_pick_others(
    admin_client,
):
    assert save(admin_client, ADD, email="new@example.org").status_code == 302
    subscriber = Subscriber.objects.get()
    assert (subscriber.send_hour, subscriber.weekday) == (7, 0)


@pytest.mark.parametrize(
    "typed", ["idn@exämple.test", "IDN@xn--exmple-cua.test", "idn@EXÄMPLE.TEST"]
)
def test_another_spelling_of_a_known_mailbox_is_refused_naming_its_subscriber(admin_client, typed):
    existing = make_subscriber("idn@xn--exmple-cua.test")
    response = save(admin_client, ADD, email=typed)
    assert response.status_code == 200
    assert errors(response) == [
        "This mailbox already has a subscriber: idn@xn--exmple-cua.test. Change that one instead."
    ]
    assert f'href="{change_page(existing)}"' in response.content.decode()
    assert "Constraint" not in response.content.decode()
    assert stored() == ["idn@xn--exmple-cua.test"]


def test_changing_an_address_to_another_subscribers_mailbox_is_refused(admin_client):
    make_subscriber("idn@xn--exmple-cua.test")
    bob = make_subscriber("bob@example.org")
    response = save(admin_client, change_page(bob), email="idn@exämple.test", paper_limit="3")
    assert response.status_code == 200
    assert "This mailbox already has a subscriber: idn@xn--exmple-cua.test." in errors(response)[0]
    bob.refresh_from_db()
    assert (bob.email, bob.paper_limit) == ("bob@example.org", 10)


def test_a_subscriber_saved_unchanged_keeps_their_address(admin_client):
    alice = make_subscriber("alice@example.org")
    response = save(admin_client, change_page(alice), paper_limit="3")
    assert response.status_code == 302, errors(response)
    alice.refresh_from_db()
    assert (alice.email, alice.paper_limit) == ("alice@example.org", 3)


def test_a_subscriber_may_change_the_case_of_their_own_address(admin_client):
    alice = make_subscriber("alice@example.org")
    response = save(admin_client, change_page(alice), email="Alice@Example.ORG")
    assert response.status_code == 302, errors(response)
    alice.refresh_from_db()
    assert alice.email == "Alice@example.org"


def test_a_twin_left_by_the_migration_is_stored_normalised_only_once_its_twin_is_gone(
    admin_client,
):
    # Migration 0003 left such pairs for staff to decide: saving the Unicode twin names
    # the other; once staff delete that one, the twin is saved in the ASCII form.
    twin = make_subscriber("twin@exämple.test")
    other = make_subscriber("twin@xn--exmple-cua.test")
    response = save(admin_client, change_page(twin))
    assert "This mailbox already has a subscriber: twin@xn--exmple-cua.test." in errors(response)[0]
    other.delete()
    assert save(admin_client, change_page(twin)).status_code == 302
    assert stored() == ["twin@xn--exmple-cua.test"]


def test_a_whole_address_in_either_spelling_finds_the_subscriber(admin_client):
    idn = make_subscriber("idn@xn--exmple-cua.test")
    response = admin_client.get(SUBSCRIBERS, {"q": "idn@exämple.test"})
    assert [str(s) for s in response.context["cl"].result_list] == [str(idn)]
