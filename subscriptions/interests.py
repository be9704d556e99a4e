"""Turns what a subscriber types into interest lists and back.

Keywords live in one text input: words are separated by spaces or commas, "double
quotes" keep a phrase together, and a leading minus excludes a word or a phrase
(-survey, -"position paper"). Stored, each element is a term or a phrase without
quotes, an exclusion keeps its leading "-": ["diffusion", "large language models",
"-survey"]. `format_keywords` writes the list back so that parsing it again gives the
same list.
"""

from __future__ import annotations

import re

MAX_KEYWORDS = 50
MAX_KEYWORD_LENGTH = 100
MAX_AUTHORS = 50
MAX_AUTHOR_LENGTH = 120

# One token: an optional minus, then a quoted phrase (closing quote optional, so a
# half-typed phrase still counts) or a run of characters up to a separator.
_TOKEN = re.compile(r'(-?)(?:"([^"]*)"?|([^\s,"]+))')
_SPACES = re.compile(r"\s+")
_LEADING_DASHES = re.compile(r"^[-\s]+")


def _clean(term: str) -> str:
    return _SPACES.sub(" ", term.replace('"', " ")).strip()


def normalise_keyword(item: str) -> str:
    """One stored element in its canonical form, or "" if nothing is left of it."""
    exclude = item.startswith("-")
    # Leading dashes inside a term mean nothing (only one minus excludes): drop them.
    term = _LEADING_DASHES.sub("", _clean(item[1:] if exclude else item))
    if not term:
        return ""
    return f"-{term}" if exclude else term


def parse_keywords(text: str) -> list[str]:
    """'transformers "graph neural networks" -survey' -> ["transformers", "graph neural
    networks", "-survey"]. Empty items are dropped; duplicates (ignoring case) too."""
    result: list[str] = []
    seen: set[str] = set()
    for minus, phrase, word in _TOKEN.findall(text or ""):
        item = normalise_keyword(minus + (phrase if phrase is not None and word == "" else word))
        if item and item.lower() not in seen:
            seen.add(item.lower())
            result.append(item)
    return result


def format_keywords(keywords: list[str]) -> str:
    """The inverse of `parse_keywords`: phrases get their quotes back."""
    parts = []
    for item in keywords:
        item = normalise_keyword(item)
        if not item:
            continue
        exclude = item.startswith("-")
        term = item[1:] if exclude else item
        # A phrase, or a word holding a comma, needs its quotes to stay one item.
        if " " in term or "," in term:
            term = f'"{term}"'
        parts.append(("-" if exclude else "") + term)
    return " ".join(parts)


def parse_authors(text: str) -> list[str]:
    """One author per line, or several separated by commas or semicolons."""
    result: list[str] = []
    seen: set[str] = set()
    for part in re.split(r"[\n,;]+", text or ""):
        name = _SPACES.sub(" ", part).strip()
        if name and name.lower() not in seen:
            seen.add(name.lower())
            result.append(name)
    return result


def format_authors(authors: list[str]) -> str:
    return "\n".join(authors)
