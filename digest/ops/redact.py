"""Keeps signed link tokens out of logs.

A token in a link is the subscriber's proof of who they are (subscriptions/tokens.py):
whoever reads it in a log can open their preferences, export their data or unsubscribe
them. Every token has one shape, whatever its purpose: the subscriber's 32-hex public
id, an optional extra (a feedback link's paper and signal), Django's base62 timestamp
(but for the feed's link) and a 43-character signature, joined by ":" (or "%3A" once
percent-encoded). That shape is replaced wherever it appears in a line: request lines,
paths, query strings, Referer headers, messages, reprs.
"""

from __future__ import annotations

import re

REDACTED = "[token]"

_SEP = r"(?::|%3[Aa])"
# The timestamp is optional: the feed's link is signed without one (the same URL in every
# digest, digest/delivery/links.py), and feed readers fetch it every hour. The extra has
# at most two parts (a paper and a signal; a consent mark and an origin), each short:
# bounded, so a line of many hex runs and colons costs linear time, not quadratic.
TOKEN = re.compile(
    rf"[0-9a-f]{{32}}(?:(?:{_SEP}[^\s\"'<>:]{{0,64}}?){{0,3}}?{_SEP}[0-9A-Za-z]{{4,10}})?"
    rf"{_SEP}[A-Za-z0-9_-]{{43}}"
)


def redact(text: str) -> str:
    """`text` with every signed token replaced by "[token]"."""
    if ":" not in text and "%3" not in text:
        return text  # no separator, no token: the common case costs one scan
    return TOKEN.sub(REDACTED, text)
