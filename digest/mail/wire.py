"""HAND-WRITTEN FAST PATH: a digest's MIME bytes for SMTP, without the email package.

Why it exists (docs/benchmarks.md, "Hand-written fast paths"; bench/bench_fast_paths.py):
the standard library's generator, through Django's message, costs about 1.1 ms of CPU
per digest (header folding and charset handling in pure Python) against 0.07 ms here:
some 100 s of CPU per 100,000 digests, more than the rendering itself. A digest needs
none of its generality: two UTF-8 parts and a dozen headers. Only the Mailer uses it,
only for SMTP and ASCII addresses (RenderedEmail.fast_path); every other backend gets
Django's message. tests/digest/delivery/test_rendering.py holds the two equal.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from email.utils import formatdate

from .templates import header_safe


def mime_bytes(
    *, from_: str, to: str, subject: str, headers: Mapping[str, str], text: str, html: str
) -> bytes:
    """multipart/alternative (text, then HTML) with the given headers, CRLF line ends."""
    boundary = f"==paperboy-{uuid.uuid4().hex}=="
    head = [
        ("From", encode_header(from_)),
        ("To", to),
        ("Subject", encode_header(subject)),
        ("Date", formatdate()),
        *(
            (name, encode_header(value))
            for name, value in headers.items()
            if name not in ("From", "To", "Subject")
        ),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    lines = [f"{name}: {value}" for name, value in head]
    lines += ["", f"--{boundary}"]
    parts = "\r\n".join(lines).encode("ascii") + b"\r\n"
    parts += _part("plain", text) + f"\r\n--{boundary}\r\n".encode()
    parts += _part("html", html) + f"\r\n--{boundary}--\r\n".encode()
    return parts


_LINE_LIMIT = 998
_FOLD_AT = 78


def _part(subtype: str, body: str) -> bytes:
    data = body.replace("\r\n", "\n").encode()
    if max(map(len, data.split(b"\n"))) > _LINE_LIMIT:
        encoding = "quoted-printable"
        data = binascii.b2a_qp(data, istext=True)
    else:
        encoding = "8bit" if not data.isascii() else "7bit"
    head = (
        f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
        f"Content-Transfer-Encoding: {encoding}\r\n\r\n"
    ).encode()
    return head + data.replace(b"\n", b"\r\n")


def encode_header(value: str) -> str:
    """An RFC 5322 header value: folded at spaces, RFC 2047 words when not ASCII."""
    value = header_safe(value)
    if not value.isascii():
        return _encoded_words(value)
    if len(value) <= _FOLD_AT:
        return value
    lines, line = [], ""
    for word in value.split(" "):
        if line and len(line) + 1 + len(word) > _FOLD_AT:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines)


def _encoded_words(value: str) -> str:
    """Base64 encoded-words of at most 45 bytes each, never splitting a character."""
    data, words, start = value.encode(), [], 0
    while start < len(data):
        end = min(start + 45, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:  # inside a character
            end -= 1
        words.append(f"=?utf-8?b?{base64.b64encode(data[start:end]).decode()}?=")
        start = end
    return "\r\n ".join(words)
