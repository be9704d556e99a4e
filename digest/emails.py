"""Builds every email Paperboy sends: one place for templates, headers and unsubscribe.

Each email kind has three Jinja2 templates under templates/email/: `<kind>.subject.txt`,
`<kind>.txt` and `<kind>.html`. HTML is rendered with autoescaping, subject and text
without, all from the same plain-data context.

HTML templates keep their styles in one `<style>` block. Mail clients ignore or strip
such blocks (Gmail in some views, Outlook's Word engine for selectors it does not know),
so the loader inlines the block into `style` attributes with css-inline once per template
version, when Jinja2 (re)loads the file, never once per message. `@media` rules (dark
mode, phone widths) cannot be inlined; css-inline keeps them in the `<style>` block for
the clients that honour it.
"""

from __future__ import annotations

import base64
import binascii
import logging
import queue
import re
import threading
import uuid
from dataclasses import dataclass
from email.utils import formataddr, formatdate, make_msgid, parseaddr
from functools import cache
from typing import Any

import css_inline
import jinja2
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.mail.backends.smtp import EmailBackend as SMTPBackend
from django.core.validators import validate_email

TEMPLATE_DIR = settings.BASE_DIR / "templates" / "email"
_HEADER_UNSAFE = re.compile(r"[\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\x85]")

# Jinja2 syntax the HTML parser inside css-inline must not see or move: statements become
# comments (allowed anywhere, even between table rows), expressions become plain words.
_JINJA = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_STATEMENT_MARK = "<!--pbj{:05d}-->"
_EXPRESSION_MARK = "pbjx{:05d}x"
_MARKS = re.compile(r"<!--pbj(\d{5})-->|pbjx(\d{5})x")


class InvalidRecipient(ValueError):
    """The address cannot go into a To header as it is (line breaks, not an address)."""


def inline_template_source(source: str) -> str:
    """The template with its `<style>` block inlined, its Jinja2 syntax untouched."""
    saved: list[str] = []
    source = re.sub(r"\{#.*?#\}", "", source, flags=re.DOTALL)

    def protect(match: re.Match[str]) -> str:
        saved.append(match.group(0))
        # Statements, and expressions alone on their line (a fragment between table
        # rows), become comments: text there would be moved out of the table.
        line_start = source.rfind("\n", 0, match.start()) + 1
        line_end = source.find("\n", match.end())
        alone = not (
            source[line_start : match.start()].strip()
            or source[match.end() : None if line_end < 0 else line_end].strip()
        )
        statement = match.group(0).startswith("{%") or alone
        return (_STATEMENT_MARK if statement else _EXPRESSION_MARK).format(len(saved) - 1)

    protected = _JINJA.sub(protect, source)
    inliner = css_inline.CSSInliner(
        keep_at_rules=True, minify_css=True, load_remote_stylesheets=False
    )
    inlined = inliner.inline(protected)

    def restore(match: re.Match[str]) -> str:
        return saved[int(match.group(1) or match.group(2))]

    # A statement mark inside an attribute comes back escaped by the serializer.
    inlined = inlined.replace("&lt;!--pbj", "<!--pbj").replace("--&gt;", "-->")
    restored = _prune_classes(_MARKS.sub(restore, inlined))
    doctype = "<!doctype html>\n" if source.lstrip().lower().startswith("<!doctype") else ""
    return doctype + restored.removeprefix("<!DOCTYPE html>")


def _prune_classes(html: str) -> str:
    """Drops class names no kept `<style>` rule mentions: they are only bytes now."""
    kept_css = " ".join(re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.DOTALL))
    used = set(re.findall(r"\.([A-Za-z_][\w-]*)", kept_css))

    def prune(match: re.Match[str]) -> str:
        names = [n for n in match.group(1).split() if n in used or "pbjx" in n]
        return f' class="{" ".join(names)}"' if names else ""

    return re.sub(r' class="([^"]*)"', prune, html)


class InliningLoader(jinja2.FileSystemLoader):
    """Loads templates from disk, inlining the CSS of `.html` ones once per file version.

    Jinja2 caches the compiled template and asks `uptodate` (the file's mtime) before
    reusing it, so an edited template is inlined again on its next use, and only then.
    """

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        # Only documents with a style block: partials and hand-inlined emails pass as is.
        if template.endswith(".html") and "<style" in source:
            source = inline_template_source(source)
        return source, filename, uptodate


@cache
def html_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=InliningLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=True,
        cache_size=100,
    )


@cache
def text_environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=False,  # noqa: S701 - subject and plain text are not HTML
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        auto_reload=True,
    )


def header_safe(value: str) -> str:
    """Anything a user typed that ends up in a header loses its line breaks."""
    return " ".join(_HEADER_UNSAFE.sub(" ", value).split())


def safe_recipient(address: str) -> str:
    """The address as it may go into To, or InvalidRecipient: never a cleaned-up guess.

    Cleaning `a@x.org\\r\\nBcc: b@y.org` into one line would still leave two addresses,
    so an address with anything but the address in it is refused outright.
    """
    if _HEADER_UNSAFE.search(address) or "," in address or "<" in address:
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
        label = header_safe(f"{settings.SITE_NAME} {list_id}")
        headers["List-Id"] = f"{label} <{list_id}.{sender_domain()}>"
    return headers


_SLOT = re.compile("\ue000([a-z_]+)\ue001")


def slot(name: str) -> str:
    """A marker a template renders unchanged (nothing in it is escaped or trimmed)."""
    return f"\ue000{name}\ue001"


class Fragment:
    """A piece of a template rendered once with slot markers, then filled per message by
    joining strings. The caller escapes what goes into an HTML fragment's slots."""

    __slots__ = ("parts",)

    def __init__(self, rendered: str) -> None:
        self.parts = _SLOT.split(str(rendered))

    def fill(self, values: dict[str, str]) -> str:
        parts = self.parts
        out = [parts[0]]
        for i in range(1, len(parts), 2):
            out.append(values[parts[i]])
            out.append(parts[i + 1])
        return "".join(out)


def template(kind: str, part: str) -> jinja2.Template:
    """`part` is "html", "txt" or "subject.txt"."""
    environment = html_environment() if part == "html" else text_environment()
    return environment.get_template(f"{kind}.{part}")


def render(kind: str, context: dict[str, Any]) -> tuple[str, str, str]:
    """Returns (subject, text, html) for one email kind."""
    subject = text_environment().get_template(f"{kind}.subject.txt").render(context)
    text = text_environment().get_template(f"{kind}.txt").render(context)
    html = html_environment().get_template(f"{kind}.html").render(context)
    return header_safe(subject), text, pack_lines(html)


_BLOCK_START = re.compile(
    r"\s*<(?:!--|/?(?:p|h[1-6]|div|table|tbody|thead|tr|td|th|head|body|meta|title|style)\b)"
)
_PACKED_LINE = 900


def pack_lines(html: str) -> str:
    """Joins lines where the break sits between block-level tags (where it renders as
    nothing), keeping every line well under SMTP's 998-byte limit.

    A digest written one element per line has ~150 lines; receiving MTAs and filters
    work line by line, so a message with a tenth of the lines is cheaper everywhere.
    """
    lines = html.split("\n")
    sizes = list(map(len, lines)) if html.isascii() else [len(x.encode()) for x in lines]
    block_start = _BLOCK_START.match
    out: list[str] = []
    joined, size = [lines[0]], sizes[0]
    for line, length in zip(lines[1:], sizes[1:], strict=True):
        if size + length < _PACKED_LINE and joined[-1].endswith(">") and block_start(line):
            joined.append(line)
            size += length
        else:
            out.append("".join(joined))
            joined, size = [line], length
    out.append("".join(joined))
    return "\n".join(out)


@dataclass
class RenderedEmail:
    """One email, rendered and with its headers: a Django message, or bytes for the wire.

    `as_bytes` writes the MIME by hand. The standard library's generator costs a few
    milliseconds per digest (header folding and charset handling in pure Python), more
    than the rendering itself, and a digest needs none of its generality: two UTF-8
    parts and a dozen ASCII headers. Django's path (`django_message`) stays for every
    other backend (the outbox, anymail, locmem in tests); a test holds the two equal.
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
        boundary = f"==paperboy-{uuid.uuid4().hex}=="
        head = [
            ("From", encode_header(from_header())),
            ("To", self.to),
            ("Subject", encode_header(self.subject)),
            ("Date", formatdate()),
            *(
                (name, encode_header(value))
                for name, value in self.headers.items()
                if name not in ("From", "To", "Subject")
            ),
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        lines = [f"{name}: {value}" for name, value in head]
        lines += ["", f"--{boundary}"]
        parts = "\r\n".join(lines).encode("ascii") + b"\r\n"
        parts += _part("plain", self.text) + f"\r\n--{boundary}\r\n".encode()
        parts += _part("html", self.html) + f"\r\n--{boundary}--\r\n".encode()
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


def build_email(
    kind: str,
    to: str,
    context: dict[str, Any],
    *,
    unsubscribe_url: str | None = None,
    list_id: str | None = None,
    message_key: str | None = None,
) -> EmailMultiAlternatives:
    """One message with text and HTML parts; bulk mail also gets the RFC 8058 headers."""
    return compose_email(
        kind,
        to,
        context,
        unsubscribe_url=unsubscribe_url,
        list_id=list_id,
        message_key=message_key,
    ).django_message()


@dataclass
class Sent:
    """What became of one submitted email: `kind` is "sent", "skipped" (never tried:
    the mailer had stopped) or what `classify` made of the error."""

    key: Any
    email: RenderedEmail
    kind: str
    text: str = ""
    error: BaseException | None = None


class Mailer:
    """Sends rendered emails over one open connection, results in submission order.

    Over SMTP a sender thread does the talking, so the caller renders the next digest
    while the server digests the last one (the socket waits release the GIL). Other
    backends (anymail, the outbox, locmem) send in the caller's thread. `classify` maps
    an exception to (kind, text); the thread stops by itself after a "connection" or
    "unknown" kind, and `stop()` stops it early. Messages not yet tried come back as
    "skipped". `close()` waits for everything in flight and returns the last results:
    a caller must record those too, or it would send them again.
    """

    DEPTH = 16

    def __init__(self, connection, classify) -> None:
        self.connection = connection
        self.classify = classify
        self._done: queue.SimpleQueue[Sent] = queue.SimpleQueue()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None
        smtp = getattr(connection, "connection", None)
        if isinstance(connection, SMTPBackend) and smtp is not None:
            self._todo: queue.Queue = queue.Queue(maxsize=self.DEPTH)
            self._thread = threading.Thread(target=self._run, name="mailer", daemon=True)
            self._thread.start()

    def submit(self, key, email: RenderedEmail) -> None:
        if self._thread is None:
            self._done.put(self._send(key, email))
        else:
            self._todo.put((key, email))

    def ready(self) -> list[Sent]:
        results = []
        while True:
            try:
                results.append(self._done.get_nowait())
            except queue.Empty:
                return results

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> list[Sent]:
        if self._thread is not None:
            self._todo.put(None)
            self._thread.join()
        try:
            self.connection.close()
        except Exception:  # noqa: BLE001 - closing a broken connection may fail too
            logging.getLogger(__name__).debug("closing the mail connection failed", exc_info=True)
        return self.ready()

    def _run(self) -> None:
        while (item := self._todo.get()) is not None:
            self._done.put(self._send(*item))

    def _send(self, key, email: RenderedEmail) -> Sent:
        if self._stopped.is_set():
            return Sent(key, email, "skipped")
        try:
            smtp = getattr(self.connection, "connection", None)
            if isinstance(self.connection, SMTPBackend) and smtp and email.fast_path:
                # Our parts are 8bit UTF-8: say so where the server lets us (RFC 6152).
                options = ["BODY=8BITMIME"] if smtp.has_extn("8bitmime") else []
                smtp.sendmail(email.envelope_from, [email.to], email.as_bytes(), options)
            else:
                self.connection.send_messages([email.django_message()])
        except Exception as exc:  # noqa: BLE001 - handed to the caller, classified
            kind, text = self.classify(exc)
            if kind in ("connection", "unknown"):
                self._stopped.set()
            return Sent(key, email, kind, text, exc)
        return Sent(key, email, "sent")
