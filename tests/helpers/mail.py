"""The parts of a sent message the tests look at."""

from __future__ import annotations

import re


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in a message's text part that starts with path_prefix."""
    match = re.search(rf"http://testserver({re.escape(path_prefix)}\S+)", message.body)
    assert match, f"no {path_prefix} link in:\n{message.body}"
    return match.group(1)


def html_part(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")
