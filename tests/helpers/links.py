"""Following the signed links a page offers, as a person clicking them would."""

from __future__ import annotations

import re

from django.urls import reverse

from subscriptions import tokens

_PREFERENCES_TOKEN = re.compile(r"/preferences/([^/\"'\s<>]+)/")


def preferences_paths(body: str) -> list[str]:
    """Every preferences page a page links or posts to (its forms included), once each."""
    return sorted({f"/preferences/{token}/" for token in _PREFERENCES_TOKEN.findall(body)})


def working_preferences(client, body: str) -> list[str]:
    """The preferences pages linked from `body` that open now."""
    return [path for path in preferences_paths(body) if client.get(path).status_code == 200]


def paths_to(body: str, prefix: str) -> list[str]:
    """The local paths in `body` that start with `prefix` (e.g. "/feedback/"), once each."""
    pattern = rf"(?:http://testserver)?({re.escape(prefix)}[^\"'\s<>]+)"
    return sorted(set(re.findall(pattern, body)))


def unsubscribe_path(subscriber) -> str:
    """The path of the unsubscribe link every mail to the subscriber carries."""
    token = tokens.make_token(subscriber, tokens.Purpose.UNSUBSCRIBE)
    return reverse("subscriptions:unsubscribe", args=[token])


def feedback_path(subscriber, arxiv_id: str, signal: int) -> str:
    """The path of a digest's "more like this" (1) or "fewer like this" (-1) link."""
    token = tokens.make_token(subscriber, tokens.Purpose.FEEDBACK, extra=f"{arxiv_id}:{signal}")
    return reverse("subscriptions:feedback", args=[token])
