"""Signed links for a chunk of digests, and the one link that must never change.

`Links` signs exactly as `subscriptions.tokens` does, hoisting the key derivation and
`reverse()` out of the per-link work. The personal Atom feed's link is signed without a
timestamp (`feed_token`), so a feed reader keeps one URL: a timestamped token would be a
new URL in every digest and on every fetch of the feed's self link.
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core import signing
from django.urls import reverse

from digest.models import Delivery
from subscriptions import tokens

from .chunk_signer import ChunkSigner, StableSigner

_TOKEN_SLOT = "pbtokenslot"  # noqa: S105 - a placeholder, not a secret
FEED_SALT = "paperboy.feed-stable"


class Links:
    """Signed links for many subscribers: each route is reversed once, not per link.

    The URLs are exactly what `tokens.<purpose>_url` returns (a test holds them equal);
    `reverse()` and the signer's key derivation are hoisted out of the per-link work,
    because for a chunk of digests they cost more than everything else.
    """

    ROUTES = {
        tokens.Purpose.PREFERENCES: "subscriptions:preferences",
        tokens.Purpose.UNSUBSCRIBE: "subscriptions:unsubscribe",
        tokens.Purpose.FEEDBACK: "subscriptions:feedback",
        tokens.Purpose.VIEW_DIGEST: "digest:view",
        tokens.Purpose.FEED: "digest:feed",
    }

    def __init__(self, signed_at: datetime | None = None) -> None:
        """`signed_at`: sign every link as of then (a digest shown again as it was
        mailed), so that none outlives the mail's own; otherwise now."""
        self.signed_at = signed_at
        self._around: dict[tokens.Purpose, tuple[str, str]] = {}
        self._signers: dict[tokens.Purpose, ChunkSigner] = {}
        for purpose, route in self.ROUTES.items():
            url = tokens.absolute(reverse(route, args=[_TOKEN_SLOT]))
            before, _, after = url.partition(_TOKEN_SLOT)
            self._around[purpose] = (before, after)
            self._signers[purpose] = ChunkSigner(purpose, signed_at)

    def token(self, subscriber, purpose: tokens.Purpose, extra: str = "") -> str:
        payload = subscriber.public_id.hex + (f":{extra}" if extra else "")
        return self._signers[purpose].sign(payload)

    def url(self, subscriber, purpose: tokens.Purpose, extra: str = "") -> str:
        before, after = self._around[purpose]
        if purpose == tokens.Purpose.FEED:
            return before + feed_token(subscriber) + after
        return before + self.token(subscriber, purpose, extra) + after

    def preferences(self, subscriber) -> str:
        """The preferences link; once one signed at `signed_at` has expired, the page
        that mails the subscriber a fresh one."""
        if self.signed_at is None:
            return self.url(subscriber, tokens.Purpose.PREFERENCES)
        url = tokens.preferences_url_as_of(subscriber, self.signed_at)
        return url or tokens.absolute(reverse("subscriptions:request_link"))

    def archive(self, delivery: Delivery, page: int = 1) -> str:
        url = self.view(delivery).removesuffix("/") + "/archive/"
        return url if page <= 1 else f"{url}?page={page}"

    def feedback(self, subscriber, arxiv_id: str, signal: int) -> str:
        return self.url(subscriber, tokens.Purpose.FEEDBACK, f"{arxiv_id}:{signal}")

    def view(self, delivery: Delivery) -> str:
        return self.url(delivery.subscriber, tokens.Purpose.VIEW_DIGEST, delivery.public_id.hex)


class StaffPreviewLinks(Links):
    """The links of a digest as staff preview it in the admin: each in its place, but
    carrying no token. A signed link acts for its subscriber (the preferences link
    exports and deletes them), and looking at a delivery must not hand staff, or
    whoever reads their screen, the power to do that."""

    PLACEHOLDER = "staff-preview"

    def url(self, subscriber, purpose: tokens.Purpose, extra: str = "") -> str:
        before, after = self._around[purpose]
        return before + self.PLACEHOLDER + after

    def preferences(self, subscriber) -> str:
        return self.url(subscriber, tokens.Purpose.PREFERENCES)


def view_url(delivery: Delivery) -> str:
    return Links().view(delivery)


def feed_url(subscriber) -> str:
    return Links().url(subscriber, tokens.Purpose.FEED)


_feed_signer: StableSigner | None = None


def feed_token(subscriber) -> str:
    """The same token every time for one subscriber (and secret key)."""
    global _feed_signer
    if _feed_signer is None or _feed_signer.key != settings.SECRET_KEY:
        _feed_signer = StableSigner(FEED_SALT)
    return _feed_signer.sign(subscriber.public_id.hex)


def read_feed_token(token: str) -> str:
    """The subscriber's public id (hex) from a stable feed token or, for links in
    digests sent before it existed, a timestamped `Purpose.FEED` one; BadToken else."""
    try:
        return signing.Signer(salt=FEED_SALT).unsign(token)
    except signing.BadSignature:
        return tokens.read_token(token, tokens.Purpose.FEED).subscriber_public_id.hex
