"""A field refused on the sign-up and preferences pages says so to a screen reader too: the
control is marked invalid and its description holds the message, not only the page."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from subscriptions import tokens
from tests.helpers.described import described
from tests.subscriptions.test_preferences import VALID, prefs_path


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "control", "value", "message"),
    [
        ("categories", "categories-group", ["cs.XX"], "not an arXiv category we know"),
        ("keywords", "id_keywords", " ".join(f"w{i}" for i in range(51)), "50 at most"),
        ("authors", "id_authors", "\n".join(f"A {i}" for i in range(51)), "50 authors at most"),
        ("description", "id_description", "x" * 2001, "under 2000 characters"),
        ("paper_limit", "id_paper_limit", "51", "At most 50 papers"),
        ("send_hour", "id_send_hour", "24", "pick an hour"),
        ("time_zone", "id_time_zone", "Mars/Olympus", "is not a time zone we know"),
    ],
)
def test_a_refused_preference_is_marked_on_its_field(client, alice, field, control, value, message):
    response = client.post(prefs_path(alice), {**VALID, field: value})

    description, invalid = described(response.content.decode(), control)
    assert message in description
    assert invalid


@pytest.mark.django_db
def test_a_valid_preference_is_not_marked(client, alice):
    response = client.post(prefs_path(alice), {**VALID, "paper_limit": "0"})

    description, invalid = described(response.content.decode(), "id_keywords")
    assert description.startswith("Separate words with spaces.")
    assert not invalid


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "control", "value", "message"),
    [
        ("email", "id_email", "not an address", "does not look like an email address"),
        ("keywords", "id_keywords", " ".join(f"w{i}" for i in range(51)), "50 at most"),
        ("categories", "signup-topics", ["cs.XX"], "Please pick topics from the list."),
    ],
)
def test_a_refused_sign_up_field_is_marked_on_its_field(client, field, control, value, message):
    data = {"email": "ada@example.org", "keywords": "", field: value}
    response = client.post(reverse("subscriptions:signup"), data)

    description, invalid = described(response.content.decode(), control)
    assert message in description
    assert invalid


def page_title(response) -> str:
    title = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    assert title, "a page with no title"
    return title.group(1)


@pytest.mark.django_db
def test_a_page_whose_form_was_refused_says_so_first_in_its_title(client, alice):
    """The title is what a screen reader reads first as a page loads: the same form again,
    with its messages further down, would otherwise sound like nothing happened."""
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    refused = [
        client.post(reverse("subscriptions:signup"), {"email": "not an address"}),
        client.post(reverse("subscriptions:request_link"), {"email": "not an address"}),
        client.post(prefs_path(alice), {**VALID, "paper_limit": "0"}),
        client.post(reverse("subscriptions:delete", args=[token]), {}),
    ]
    assert [page_title(r).split(" ", 1)[0] for r in refused] == ["Error:"] * 4
    shown = [
        reverse("subscriptions:signup"),
        reverse("subscriptions:request_link"),
        prefs_path(alice),
    ]
    assert not any(page_title(client.get(path)).startswith("Error") for path in shown)
