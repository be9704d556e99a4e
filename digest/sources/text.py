"""Readable text from what the listings give us: LaTeX, entities, hard wraps, odd Unicode.

The source text is kept as published in `Paper.title` / `Paper.abstract`; these functions
build the display form (`title_text` / `abstract_text`).

pylatexenc is only run on the LaTeX-looking spans (inline math, macros, accents), never
on a whole abstract: on plain prose it is slow (about 10x feedparser's own parse time),
and it treats `%` as a comment and `&` as a column separator, so "10.7% faster" would
lose the rest of the sentence.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Iterator
from functools import lru_cache

from pylatexenc.latex2text import LatexNodes2Text

_LATEX_SPAN = re.compile(
    r"\$\$[^$]{1,500}?\$\$"  # display math
    r"|\$[^$\n]{1,300}?\$"  # inline math
    r"|\\[A-Za-z]+\*?(?:\s*\{[^{}]{0,300}\})*"  # \macro{arg}{arg}
    r"|\\[`'^\"~=.](?:\{[^{}]{0,10}\}|[A-Za-z])"  # accents: \'e, \"{o}
    r"|\\[%&#_${}]"  # escaped specials: \%, \&
)
# Bare grouping braces left after conversion: "{BERT}" -> "BERT", "{é}" -> "é".
_GROUP = re.compile(r"\{([^{}\\$]{0,200})\}")
# Characters no published text means: C0/C1 controls other than whitespace, zero-width
# formatting marks, private-use characters (U+E000 and U+E001 are also the card templates'
# slot markers, digest/mail/templates.py) and the non-characters.
_NON_CHARACTERS = "\ufdd0-\ufdef" + "".join(
    f"{chr(plane << 16 | 0xFFFE)}{chr(plane << 16 | 0xFFFF)}" for plane in range(15)
)
_CONTROL = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u200e\u200f\u2060\ufeff"
    "\ue000-\uf8ff\U000f0000-\U0010ffff"  # private use: the BMP's area, planes 15 and 16
    f"{_NON_CHARACTERS}]"
)
# The ASCII ones among them, as bytes, for ASCII text (most titles and abstracts).
_ASCII_CONTROL = bytes([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F])

_converter = LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


@lru_cache(maxsize=4096)
def _convert_span(span: str) -> str:
    # Called through a generator, so pylatexenc's frames do not link to ours (below).
    return next(_converted(span))


def _converted(span: str) -> Iterator[str]:
    """pylatexenc on one span, in a generator's frame.

    Every conversion leaves a reference cycle (an exception that holds its traceback, a
    class defined per call), freed only by the garbage collector. Its frames keep their
    callers' frames, and so those callers' variables, alive with it: called directly,
    the whole parsed feed and the downloaded body of the pull that met the first LaTeX
    span stayed in memory until a collection of the oldest generation reached them. A
    generator's frame is not linked to its caller's, so the cycle holds only ~20 KiB of
    pylatexenc's own objects (tests/digest/test_sources_text.py pins this).
    """
    try:
        text = _converter.latex_to_text(span)
    except Exception:  # pylatexenc raises assorted errors on odd input; keep the source.
        yield span
        return
    yield text.replace("\xa0", " ")


def latex_to_text(text: str) -> str:
    """Turn the LaTeX inside `text` into Unicode: `M$^3$ViT` -> `M^3ViT`, `Andr\\'e` -> `André`.

    Plain prose passes through untouched, including `%`, `&` and `~`.
    """
    # Four substring tests cost less than one regex scan of an abstract (~3 us).
    if not text or not ("\\" in text or "$" in text or "{" in text or "}" in text):
        return text
    text = _LATEX_SPAN.sub(lambda match: _convert_span(match.group(0)), text)
    return _GROUP.sub(r"\1", text)


def clean_whitespace(text: str) -> str:
    """Collapse runs of whitespace (hard wraps, indents, tabs) to one space and strip."""
    return " ".join((text or "").split())


def strip_controls(text: str) -> str:
    """`text` without control, zero-width, private-use and non-characters (`_CONTROL`)."""
    if text.isascii():  # Deleting bytes is ~5x faster than the regex; same characters.
        raw = text.encode("ascii")
        kept = raw.translate(None, _ASCII_CONTROL)
        return text if len(kept) == len(raw) else kept.decode("ascii")
    return _CONTROL.sub("", text)


def normalise_unicode(text: str) -> str:
    """NFC-compose, and drop the characters `strip_controls` drops."""
    return unicodedata.normalize("NFC", strip_controls(text))


def readable(text: str) -> str:
    """The display form of a title or abstract: entities decoded, LaTeX rendered, one line."""
    if not text:
        return ""
    text = html.unescape(text)
    return clean_whitespace(normalise_unicode(latex_to_text(text)))


def source_text(text: str) -> str:
    """The stored source form: as published, minus `strip_controls`'s characters and edge
    whitespace."""
    return strip_controls(text or "").strip()
