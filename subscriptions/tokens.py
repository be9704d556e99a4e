"""Signed links: the only way a subscriber proves who they are (no passwords).

Each purpose has its own salt, so a token made for one link never works for another.
Tokens carry the subscriber's public UUID, never the sequential id.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone


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
    # To the microsecond: an undo made for one unsubscribe must not undo another made
    # in the same second (leave, come back, leave again).
    return f"{int(left.timestamp())}.{left.microsecond:06d}" if left else ""


def read_consent_token(token: str, purpose: Purpose, subscriber) -> None:
    """Raises ExpiredToken when a valid confirm/resubscribe link predates an unsubscribe."""
    mark, _, _origin = read_token(token, purpose).extra.partition(":")
    if mark != consent_mark(subscriber):
        raise ExpiredToken("the subscriber unsubscribed after this link was made")


class BadToken(Exception):
    """The link was tampered with, or made for something else."""


class ExpiredToken(BadToken):
    """The link was genuine but is too old."""


@dataclass(frozen=True)
class TokenData:
    subscriber_public_id: uuid.UUID
    extra: str = ""


class _SignerAt(signing.TimestampSigner):
    """Django's TimestampSigner with the clock stopped at `at`."""

    def __init__(self, at: datetime, **kwargs) -> None:
        super().__init__(**kwargs)
        self._timestamp = signing.b62_encode(int(at.timestamp()))

    def timestamp(self) -> str:
        return self._timestamp


def _signer(purpose: Purpose, at: datetime | None = None) -> signing.TimestampSigner:
    if at is None:
        return signing.TimestampSigner(salt=f"paperboy.{purpose}")
    return _SignerAt(at, salt=f"paperboy.{purpose}")


def make_token(subscriber, purpose: Purpose, extra: str = "", *, at: datetime | None = None) -> str:
    """A token for `purpose`; `at` signs it as of that time (so it expires as if made then)."""
    payload = subscriber.public_id.hex + (f":{extra}" if extra else "")
    return _signer(purpose, at).sign(payload)


def signed_at(token: str) -> datetime:
    """When a token was signed, to the second. Only for a token `read_token` accepted."""
    _, timestamp, _ = token.rsplit(":", 2)
    return datetime.fromtimestamp(signing.b62_decode(timestamp), tz=UTC)


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


def preferences_url_as_of(subscriber, origin: datetime) -> str:
    """The preferences link of a mail signed at `origin`, expiring with it; "" once it has.

    Pages reached through a link that never expires (unsubscribe, feedback, view in
    browser) offer this, never a fresh link: a forwarded or leaked mail must not stay a
    key to the preferences (export, delete) for longer than the mail's own link is.
    """
    origin = origin.replace(microsecond=0)  # as the signature keeps it
    if timezone.now() - origin > timedelta(seconds=settings.PREFERENCES_TOKEN_MAX_AGE):
        return ""
    token = make_token(subscriber, Purpose.PREFERENCES, at=origin)
    return absolute(reverse("subscriptions:preferences", args=[token]))


def undo_token(subscriber, origin: datetime, *, just_left: bool = False) -> str:
    """The undo of the subscriber's last unsubscribe, on a page opened through a link
    signed at `origin`; "" when none is due.

    Only whoever made the unsubscribe gets it at once: the page that answers their press
    (`just_left`). The links that lead back to that page sit in every mail, forwarded
    ones too, so a later visit may be anyone's. Later, only a link mailed after the
    unsubscribe proves the owner wants back in (a preferences link, asked for on
    /link/); otherwise a fresh confirmation mail (sign up again) is needed. The undo
    carries `origin`, so the page after it offers no preferences link that outlives the
    one the page before had.
    """
    left = subscriber.unsubscribed_at
    if subscriber.status != subscriber.Status.UNSUBSCRIBED or not left:
        return ""
    if not (just_left or origin >= left):
        return ""
    extra = f"{consent_mark(subscriber)}:{int(origin.timestamp())}"
    return make_token(subscriber, Purpose.RESUBSCRIBE, extra=extra)


def undo_origin(token: str) -> datetime:
    """The `origin` an undo token carries (its own time for one made without it)."""
    _, _, origin = read_token(token, Purpose.RESUBSCRIBE).extra.partition(":")
    return datetime.fromtimestamp(int(origin), tz=UTC) if origin else signed_at(token)


def unsubscribe_url(subscriber) -> str:
    token = make_token(subscriber, Purpose.UNSUBSCRIBE)
    return absolute(reverse("subscriptions:unsubscribe", args=[token]))


def feedback_url(subscriber, arxiv_id: str, signal: int) -> str:
    token = make_token(subscriber, Purpose.FEEDBACK, extra=f"{arxiv_id}:{signal}")
    return absolute(reverse("subscriptions:feedback", args=[token]))
