"""A page opened through a signed link holds the key to it: the link itself, in the
address bar and in the forms and links on the page, and the subscriber's address. No
cache, the browser's on disk or a shared one on the way, may keep such a page, nor a
fragment htmx fetched from such an address."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from digest.delivery.links import feed_token
from subscriptions import tokens
from subscriptions.models import Subscriber


def assert_not_stored(response) -> None:
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    assert {"no-store", "private"} <= directives, (response.status_code, directives)


def token_paths(alice: Subscriber) -> list[str]:
    def token(purpose, extra=""):
        return tokens.make_token(alice, purpose, extra)

    preferences = token(tokens.Purpose.PREFERENCES)
    return [
        reverse("subscriptions:preferences", args=[preferences]),
        reverse("subscriptions:suggestions", args=[preferences]),
        reverse("subscriptions:reading", args=[preferences]),
        reverse("subscriptions:delete", args=[preferences]),
        reverse("subscriptions:unsubscribe", args=[token(tokens.Purpose.UNSUBSCRIBE)]),
        reverse("subscriptions:confirm", args=[token(tokens.Purpose.CONFIRM)]),
        reverse("subscriptions:feedback", args=[token(tokens.Purpose.FEEDBACK, "2501.00001:1")]),
        reverse("digest:feed", args=[feed_token(alice)]),
    ]


@pytest.mark.django_db
def test_no_page_opened_through_a_link_may_be_kept_by_a_cache(client, alice, paper):
    for path in token_paths(alice):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_not_stored(response)


@pytest.mark.django_db
def test_the_fragments_htmx_fetches_may_not_be_kept_either(client, alice, paper):
    preferences = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    for name in ("suggestions", "reading"):
        response = client.get(
            reverse(f"subscriptions:{name}", args=[preferences]), HTTP_HX_REQUEST="true"
        )
        assert response.status_code == 200
        assert_not_stored(response)


@pytest.mark.django_db
def test_the_answers_to_posts_and_to_bad_links_may_not_be_kept(alice):
    client = Client()
    unsubscribe = tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)
    # The page after the press carries the undo, a key to the subscription.
    pressed = client.post(reverse("subscriptions:unsubscribe", args=[unsubscribe]))
    assert b"/resubscribe/" in pressed.content
    assert_not_stored(pressed)
    tampered = reverse("subscriptions:preferences", args=[unsubscribe])
    assert client.get(tampered).status_code == 400
    assert_not_stored(client.get(tampered))


@pytest.mark.django_db
def test_every_address_that_carries_a_token_is_covered(client):
    """A page added under a token later is covered too: the header goes on every route
    whose pattern takes a `token`, whatever its view answers (here, to a forged one)."""

    def routes(resolver, prefix=""):
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                yield from routes(entry, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield prefix + str(entry.pattern)

    forged = "0" * 32 + ":1a2b3c:" + "A" * 43
    paths = [
        "/" + re.sub(r"<(?:str|path):token>", forged, route)
        for route in routes(get_resolver())
        if re.search(r"<(?:str|path):token>", route) and route.count("<") == 1
    ]
    assert len(paths) >= 15
    for path in paths:
        assert_not_stored(client.get(path))
