"""HAND-WRITTEN FAST PATH: the signer of a chunk's links, Django's recipe kept once.

Why it exists (docs/benchmarks.md, "Hand-written fast paths"; bench/bench_fast_paths.py):
a digest carries about 24 signed links (two feedback links per paper, preferences,
unsubscribe, view, feed). Django's TimestampSigner derives its HMAC key from the salt
and SECRET_KEY, and reads the clock, for every signature: about 0.27 ms of CPU per
digest against 0.08 ms here, which would take the build-and-render rate below its goal
of 1,000 digests/s. The tokens are byte for byte Django's (salted HMAC-SHA256 over the
same payload), so `subscriptions.tokens.read_token` reads them; a test holds the URLs
equal to `tokens.<purpose>_url`. If Django changes its key recipe, that test fails.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime

from django.core import signing
from django.utils.encoding import force_bytes

from subscriptions import tokens


class ChunkSigner(signing.TimestampSigner):
    """`tokens`' signer for one purpose, made once per chunk instead of once per link.

    It signs exactly as Django does (salted HMAC-SHA256 over the same payload, so
    `tokens.read_token` reads its tokens); it only keeps the derived HMAC key and the
    timestamp, which Django recomputes for every signature.
    """

    def __init__(self, purpose: tokens.Purpose, at: datetime | None = None) -> None:
        super().__init__(salt=f"paperboy.{purpose}")
        digest = getattr(hashlib, self.algorithm)
        key = digest(force_bytes(self.salt) + b"signer" + force_bytes(self.key)).digest()
        self._mac = hmac.new(key, digestmod=digest)
        # `at`: signed as of then (tokens.make_token's `at`), for a digest shown again.
        self._timestamp = signing.b62_encode(int(at.timestamp())) if at else super().timestamp()

    def timestamp(self) -> str:
        return self._timestamp

    def signature(self, value, key=None) -> str:
        mac = self._mac.copy()
        mac.update(value.encode())
        return signing.b64_encode(mac.digest()).decode()

    def sign(self, value: str) -> str:
        # TimestampSigner.sign and Signer.sign, flattened: value:timestamp:signature.
        value = f"{value}{self.sep}{self._timestamp}"
        return f"{value}{self.sep}{self.signature(value)}"


class StableSigner(signing.Signer):
    """Django's Signer (value:signature, no timestamp) with its key derived once: the
    feed link in every digest (delivery/links.py `feed_token`)."""

    def __init__(self, salt: str) -> None:
        super().__init__(salt=salt)
        digest = getattr(hashlib, self.algorithm)
        key = digest(force_bytes(self.salt) + b"signer" + force_bytes(self.key)).digest()
        self._mac = hmac.new(key, digestmod=digest)

    def signature(self, value, key=None) -> str:
        mac = self._mac.copy()
        mac.update(value.encode())
        return signing.b64_encode(mac.digest()).decode()
