"""Builds every email Paperboy sends: one place for headers and unsubscribe.

Subjects, text and HTML come from `templates`; every message goes through
`build_email`, which adds the sender, Message-ID and the List-Unsubscribe headers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.header import Header
from email.utils import formataddr, make_msgid, parseaddr
from functools import cache
from typing import Any, TypedDict, Unpack

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email

from . import wire
from .templates import HEADER_UNSAFE, header_safe, render


class InvalidRecipient(ValueError):
    """The address cannot go into a To header as it is (line breaks, not an address)."""


def safe_recipient(address: str) -> str:
    """The address as it may go into To, or InvalidRecipient: never a cleaned-up guess.

    Cleaning `a@x.org\\r\\nBcc: b@y.org` into one line would still leave two addresses,
    so an address with anything but the address in it is refused outright.
    """
    if HEADER_UNSAFE.search(address) or "," in address or "<" in address:
        raise InvalidRecipient(f"refusing to mail {address!r}")
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvalidRecipient(f"not an email address: {address!r}") from exc
    return address


@cache
def _sender(from_email: str, site_name: str) -> tuple[str, str, str]:
    """(From header, envelope address, domain), parsed once per setting value."""
    name, address = parseaddr(from_email)
    domain = address.rsplit("@", 1)[-1] if "@" in address else "paperboy.localhost"
    return formataddr((header_safe(name or site_name), address)), address, domain


def sender_domain() -> str:
    return _sender(settings.DEFAULT_FROM_EMAIL, settings.SITE_NAME)[2]


def envelope_sender() -> str:
    return _sender(settings.DEFAULT_FROM_EMAIL, settings.SITE_NAME)[1]


def from_header() -> str:
    """DEFAULT_FROM_EMAIL with a display name: `Paperboy <digest@example.org>`."""
    return _sender(settings.DEFAULT_FROM_EMAIL, settings.SITE_NAME)[0]


def message_id(kind: str, key: str | None = None) -> str:
    """A stable Message-ID when `key` is given (a retried send carries the same one, and
    receivers that dedupe on it show a single copy); a fresh one otherwise."""
    if key:
        return f"<{kind}.{key}@{sender_domain()}>"
    return make_msgid(idstring=kind, domain=sender_domain())


def list_headers(unsubscribe_url: str | None, list_id: str | None) -> dict[str, str]:
    """RFC 2369/8058 list headers. DKIM must sign both List-Unsubscribe headers."""
    headers: dict[str, str] = {}
    if unsubscribe_url:
        headers["List-Unsubscribe"] = (
            f"<{header_safe(unsubscribe_url)}>, "
            f"<mailto:{header_safe(settings.UNSUBSCRIBE_MAILTO)}?subject=unsubscribe>"
        )
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    if list_id:
        label = _phrase(header_safe(f"{settings.SITE_NAME} {list_id}"))
        headers["List-Id"] = f"{label} <{list_id}.{sender_domain()}>"
    return headers


_PHRASE_SPECIALS = re.compile(r'[()<>\[\]:;@\\,."]')


def _phrase(text: str) -> str:
    """`text` as an RFC 5322 phrase, in ASCII. A header value that is not ASCII would be
    encoded whole, the `<list-id>` inside the encoded word where no receiver reads it."""
    if not text.isascii():
        return " ".join(Header(text, "utf-8").encode().split())
    if _PHRASE_SPECIALS.search(text):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


@dataclass
class RenderedEmail:
    """One email, rendered and with its headers: a Django message, or bytes for the wire.

    `as_bytes` writes the MIME by hand (wire.py, a measured fast path for SMTP); Django's
    path (`django_message`) stays for every other backend (the outbox, anymail, locmem in
    tests); a test holds the two equal.
    """

    to: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]

    def django_message(self) -> EmailMultiAlternatives:
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[self.to],
            headers=dict(self.headers),
        )
        message.attach_alternative(self.html, "text/html")
        return message

    @property
    def envelope_from(self) -> str:
        return envelope_sender()

    @property
    def fast_path(self) -> bool:
        """Whether `as_bytes` can write this one (ASCII addresses)."""
        return self.to.isascii() and from_header().isascii()

    def as_bytes(self) -> bytes:
        """The message as SMTP DATA, written by hand (see wire.py for why)."""
        return wire.mime_bytes(
            from_=from_header(),
            to=self.to,
            subject=self.subject,
            headers=self.headers,
            text=self.text,
            html=self.html,
        )


def compose_email(
    kind: str,
    to: str,
    context: dict[str, Any],
    *,
    unsubscribe_url: str | None = None,
    list_id: str | None = None,
    message_key: str | None = None,
    rendered: tuple[str, str, str] | None = None,
) -> RenderedEmail:
    """Renders one email (unless `rendered` already holds its subject, text and HTML) and
    gives it its headers; refuses an unsafe recipient."""
    subject, text, html = rendered or render(kind, context)
    headers = {
        "From": from_header(),
        "Message-ID": message_id(kind, message_key),
        "Auto-Submitted": "auto-generated",
        # Outlook and Exchange: no out-of-office replies to a digest.
        "X-Auto-Response-Suppress": "All",
        **list_headers(unsubscribe_url, list_id),
    }
    return RenderedEmail(safe_recipient(to), header_safe(subject), text, html, headers)


class EmailOptions(TypedDict, total=False):
    unsubscribe_url: str | None
    list_id: str | None
    message_key: str | None


def build_email(
    kind: str, to: str, context: dict[str, Any], **options: Unpack[EmailOptions]
) -> EmailMultiAlternatives:
    """One message with text and HTML parts; bulk mail also gets the RFC 8058 headers."""
    return compose_email(kind, to, context, **options).django_message()
