"""The two hand-written fast paths of delivery against Django's own, per digest.

Run: .venv/bin/python bench/bench_fast_paths.py [--digests 2000] [--links 24]

- MIME: `RenderedEmail.as_bytes()` (digest/mail/messages.py) against
  `RenderedEmail.django_message().message().as_bytes()`, on a digest of typical size
  (10 papers: about 8 KB of text, 40 KB of HTML, the real headers).
- Signing: `Links` with its per-chunk `_ChunkSigner` (digest/delivery/rendering.py)
  against Django's `TimestampSigner` made per link, as `subscriptions.tokens` does, for
  `--links` links per digest (10 papers: two feedback links each, plus preferences,
  unsubscribe, view and feed).

Prints microseconds per digest for each path and what the difference costs at 100,000
digests. CPU time of this process (process_time), so other jobs on the host count less.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "digest.settings")

import django  # noqa: E402

django.setup()

from django.core import signing  # noqa: E402

from digest.delivery.rendering import Links  # noqa: E402
from digest.mail.messages import RenderedEmail, list_headers  # noqa: E402
from subscriptions import tokens  # noqa: E402


class _Subscriber:
    def __init__(self) -> None:
        self.public_id = uuid.uuid4()


def _email() -> RenderedEmail:
    card_text = (
        "Knowledge distillation for small language models, at scale and cheaply\n"
        "Ada Lovelace, Alan Turing, Grace Hopper et al. · cs.CL · 48 upvotes\n"
        + "We study how a small model learns from a large one. " * 10
        + "\nMore like this: https://paperboy.example.org/f/abcdefabcdef/\n\n"
    )
    card_html = (
        '<tr><td style="padding:12px 0;border-top:1px solid #ddd">'
        '<a href="https://arxiv.org/abs/2511.00001" style="color:#1a4480;font-weight:bold">'
        "Knowledge distillation for small language models</a>"
        '<p style="margin:4px 0;color:#555">Ada Lovelace, Alan Turing · cs.CL</p>'
        "<p>" + "We study how a small model learns from a large one. " * 10 + "</p>"
        '<a href="https://paperboy.example.org/f/abcdef/">More like this</a></td></tr>\n'
    )
    headers = list_headers(
        unsubscribe_url="https://paperboy.example.org/unsubscribe/" + "x" * 120 + "/",
        list_id="digest",
    )
    return RenderedEmail(
        to="reader@example.org",
        subject="Your papers for Monday: knowledge distillation and 9 more",
        text=card_text * 10,
        html="<html><body><table>" + card_html * 10 + "</table></body></html>",
        headers=headers,
    )


def _per_digest(work, digests: int) -> float:
    start = time.process_time()
    for _ in range(digests):
        work()
    return (time.process_time() - start) / digests * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--digests", type=int, default=2000)
    parser.add_argument("--links", type=int, default=24)
    args = parser.parse_args()

    email = _email()
    mime_fast = _per_digest(email.as_bytes, args.digests)
    mime_django = _per_digest(lambda: email.django_message().message().as_bytes(), args.digests)

    subscribers = [_Subscriber() for _ in range(args.digests)]
    purposes = [tokens.Purpose.FEEDBACK] * (args.links - 4) + [
        tokens.Purpose.PREFERENCES,
        tokens.Purpose.UNSUBSCRIBE,
        tokens.Purpose.VIEW_DIGEST,
        tokens.Purpose.FEED,
    ]
    links = Links()
    it = iter(subscribers)

    def chunk_signer() -> None:
        s = next(it)
        for purpose in purposes:
            links.token(s, purpose, "2511.00001:1")

    sign_fast = _per_digest(chunk_signer, args.digests)
    it = iter(subscribers)

    def django_signer() -> None:
        s = next(it)
        for purpose in purposes:
            payload = f"{s.public_id.hex}:2511.00001:1"
            signing.TimestampSigner(salt=f"paperboy.{purpose}").sign(payload)

    sign_django = _per_digest(django_signer, args.digests)

    for name, fast, slow in (("MIME", mime_fast, mime_django), ("signing", sign_fast, sign_django)):
        extra = (slow - fast) * 100_000 / 1e6
        print(
            f"{name}: hand-written {fast:,.0f} µs per digest, Django's {slow:,.0f} µs "
            f"({slow / fast:.1f}x); Django's way would add {extra:,.0f} s of CPU "
            f"per 100,000 digests"
        )


if __name__ == "__main__":
    main()
