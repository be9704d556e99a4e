"""Email templates: three per kind, rendered from one plain-data context.

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

import re
import secrets
from collections.abc import Mapping
from functools import cache
from typing import Any

import css_inline
import jinja2
from django.conf import settings

TEMPLATE_DIR = settings.BASE_DIR / "templates" / "email"
HEADER_UNSAFE = re.compile(r"[\r\n\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u2028\u2029\x85]")

# Jinja2 syntax the HTML parser inside css-inline must not see or move: statements become
# comments (allowed anywhere, even between table rows), expressions become plain words.
_JINJA = re.compile(r"\{%.*?%\}|\{\{.*?\}\}|\{#.*?#\}", re.DOTALL)
_STATEMENT_MARK = "<!--pbj{:05d}-->"
_EXPRESSION_MARK = "pbjx{:05d}x"
_MARKS = re.compile(r"<!--pbj(\d{5})-->|pbjx(\d{5})x")


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
    return " ".join(HEADER_UNSAFE.sub(" ", value).split())


# A slot marker is two private-use characters around a key made at start and a name. The
# text rendered around the markers (a paper's title, its authors) is data: it may hold the
# same characters, even a slot's name between them, but never the key, so it can neither
# name a slot nor put a subscriber's link where it stands. What it holds of them is dropped.
_MARK_OPEN, _MARK_CLOSE = "\ue000", "\ue001"
_SLOT_KEY = secrets.token_hex(8)
_SLOT = re.compile(f"{_MARK_OPEN}{_SLOT_KEY}([a-z_]+){_MARK_CLOSE}")
_STRAY_MARKS = str.maketrans("", "", _MARK_OPEN + _MARK_CLOSE)


def slot(name: str) -> str:
    """A marker a template renders unchanged (nothing in it is escaped or trimmed)."""
    return f"{_MARK_OPEN}{_SLOT_KEY}{name}{_MARK_CLOSE}"


class Fragment:
    """A piece of a template rendered once with slot markers, then filled per message by
    joining strings, in one pass: a value is never read for markers. The caller escapes
    what goes into an HTML fragment's slots."""

    __slots__ = ("parts",)

    def __init__(self, rendered: str) -> None:
        parts = _SLOT.split(str(rendered))
        parts[::2] = [text.translate(_STRAY_MARKS) for text in parts[::2]]
        self.parts = parts

    def fill(self, values: Mapping[str, str]) -> str:
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
_LONGEST_LINE = 990  # bytes: SMTP's 998, less a margin


def pack_lines(html: str) -> str:
    """Joins lines where the break sits between block-level tags (where it renders as
    nothing), keeping every line well under SMTP's 998-byte limit, and breaks a longer
    one (`break_long_line`).

    A digest written one element per line has ~150 lines; receiving MTAs and filters
    work line by line, so a message with a tenth of the lines is cheaper everywhere.
    """
    lines = html.split("\n")
    sizes = list(map(len, lines)) if html.isascii() else [len(x.encode()) for x in lines]
    if max(sizes) > _LONGEST_LINE:
        lines = [piece for line in lines for piece in break_long_line(line)]
        sizes = [len(x.encode()) for x in lines]
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


def break_long_line(line: str) -> list[str]:
    """`line` in pieces of at most `_LONGEST_LINE` bytes, each space it is broken at
    turned into a line break: in an email's HTML both are the same white space (nothing
    in it is preformatted, and no link holds a space). One line over 998 bytes would make
    the whole part quoted-printable, a sixth larger. A piece with no space to break at
    stays whole (the part then goes quoted-printable after all)."""
    pieces = []
    data = line.encode()
    while len(data) > _LONGEST_LINE:
        head = data[: _LONGEST_LINE + 1].decode(errors="ignore")
        cut = head.rfind(" ")
        if cut <= 0:
            break
        pieces.append(head[:cut])
        data = data[len(head[: cut + 1].encode()) :]
    pieces.append(data.decode())
    return pieces
