"""Signed links: the only way a subscriber proves who they are (no passwords).

Each purpose has its own salt, so a token made for one link never works for another.
Tokens carry the subscriber's public UUID, never the sequential id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.urls import reverse


class Purpose(StrEnum):
    CONFIRM = "confirm"
    PREFERENCES = "preferences"
    UNSUBSCRIBE = "unsubscribe"
    # The undo on the page right after unsubscribing: short-lived, and only for that
    # unsubscribe (its extra is the consent mark below).
    RESUBSCRIBE = "resubscribe"
    FEEDBACK = "feedback"
    VIEW_DIGEST = "view-digest"
    FEED = "feed"


# None: the link never expires. Unsubscribe links in old emails must keep working.
def max_age(purpose: Purpose) -> int | None:
    return {
        Purpose.CONFIRM: settings.CONFIRM_TOKEN_MAX_AGE,
        Purpose.PREFERENCES: settings.PREFERENCES_TOKEN_MAX_AGE,
        Purpose.RESUBSCRIBE: settings.RESUBSCRIBE_TOKEN_MAX_AGE,
    }.get(purpose)


def consent_mark(subscriber) -> str:
    """Which unsubscribe a confirm or resubscribe link belongs to ("" before any).

    Consent given before an unsubscribe must not outlive it: a confirm link mailed
    earlier, or an undo offered after an earlier unsubscribe, no longer matches once
    the subscriber has left again; only a fresh confirmation mail brings them back.
    """
    left = subscriber.unsubscribed_at
    return str(int(left.timestamp())) if left else ""


def read_consent_token(token: str, purpose: Purpose, subscriber) -> None:
    """Raises ExpiredToken when a valid confirm/resubscribe link predates an unsubscribe."""
    if read_token(token, purpose).extra != consent_mark(subscriber):
        raise ExpiredToken("the subscriber unsubscribed after this link was made")


class BadToken(Exception):
    """The link was tampered with, or made for something else."""


class ExpiredToken(BadToken):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class TokenData:
    subscriber_public_id: uuid.UUID
    extra: str = ""


def _signer(purpose: Purpose) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"paperboy.{purpose}")


def make_token(subscriber, purpose: Purpose, extra: str = "") -> str:
    payload = subscriber.public_id.hex + (f":{extra}" if extra else "")
    return _signer(purpose).sign(payload)


def read_token(token: str, purpose: Purpose) -> TokenData:
    try:
        payload = _signer(purpose).unsign(token, max_age=max_age(purpose))
    except signing.SignatureExpired as exc:
        raise ExpiredToken(str(exc)) from exc
    except signing.BadSignature as exc:
        raise BadToken(str(exc)) from exc
    public_hex, _, extra = payload.partition(":")
    try:
        return TokenData(uuid.UUID(hex=public_hex), extra)
    except ValueError as exc:
        raise BadToken("malformed token") from exc


def absolute(path: str) -> str:
    return f"{settings.SITE_URL}{path}"


def confirm_url(subscriber) -> str:
    token = make_token(subscriber, Purpose.CONFIRM, extra=consent_mark(subscriber))
    return absolute(reverse("subscriptions:confirm", args=[token]))


def preferences_url(subscriber) -> str:
    token = make_token(subscriber, Purpose.PREFERENCES)
    return absolute(reverse("subscriptions:preferences", args=[token]))


def unsubscribe_url(subscriber) -> str:
    token = make_token(subscriber, Purpose.UNSUBSCRIBE)
    return absolute(reverse("subscriptions:unsubscribe", args=[token]))


def feedback_url(subscriber, arxiv_id: str, signal: int) -> str:
    token = make_token(subscriber, Purpose.FEEDBACK, extra=f"{arxiv_id}:{signal}")
    return absolute(reverse("subscriptions:feedback", args=[token]))
