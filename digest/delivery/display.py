"""What every subscriber sees of one paper: its display strings, cut to size.

Computed once per paper per worker process (rendering.py keeps them by paper version);
the text is made safe to show whatever a row holds: only http(s) links, no explicit
direction controls, cuts that keep a script written without spaces.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

from digest.models import Paper

from . import gists, sections

AUTHORS_SHOWN = 4
ABSTRACT_SENTENCES = 2
ABSTRACT_MAX_CHARS = 220
GIST_MAX_CHARS = 260
COMPACT_AUTHORS_SHOWN = 2
COMPACT_ORGANIZATION_CHARS = 48
TITLE_MAX_CHARS = 300
ORGANIZATION_MAX_CHARS = 80
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def short_authors(authors: list[str], shown: int = AUTHORS_SHOWN) -> str:
    if len(authors) <= shown:
        return ", ".join(authors)
    return f"{', '.join(authors[: shown - 1])} et al. ({len(authors)} authors)"


def abstract_opening(
    text: str, sentences: int = ABSTRACT_SENTENCES, max_chars: int = ABSTRACT_MAX_CHARS
) -> str:
    opening = " ".join(_SENTENCE_END.split(" ".join(text.split()))[:sentences])
    if len(opening) > max_chars:
        opening = sections.cut_at_word(opening, max_chars) + "…"
    return opening


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else sections.cut_at_word(text, limit - 1) + "…"


@cache
def _latex_converter():
    from pylatexenc.latex2text import LatexNodes2Text  # slow to import; few titles need it

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=True)


def readable_title(paper: Paper) -> str:
    """The Unicode title ingestion stored, or one made from the LaTeX source if it did not."""
    if paper.title_text.strip():
        return " ".join(paper.title_text.split())
    try:
        return " ".join(_latex_converter().latex_to_text(paper.title).split())
    except Exception:  # noqa: BLE001 - a malformed title is still better shown raw
        return " ".join(paper.title.split())


# Explicit direction controls a title or abstract brings along: unpaired, they turn the
# text after them around, in the card and in the subject line of the inbox list.
_DIRECTION_CONTROLS = dict.fromkeys(
    map(ord, "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


def _plain(text: str) -> str:
    return text if text.isascii() else text.translate(_DIRECTION_CONTROLS)


def web_link(url: str) -> str:
    """`url` if it is an http(s) link, else "". Ingestion keeps only those; a row written
    another way must not put a `javascript:` or `data:` link in a mail or its web page."""
    return url if url[:8].lower().startswith(("https://", "http://")) else ""


def paper_link(paper: Paper) -> str:
    """The paper's arXiv page: its stored link if that is a web link, else arXiv's own."""
    return web_link(paper.abs_url) or f"https://arxiv.org/abs/{paper.arxiv_id}"


def paper_display(
    paper: Paper,
    *,
    compact: bool = False,
    web: bool = False,
    buzz: tuple[int | None, int] = (None, 0),
) -> dict[str, Any]:
    """What every subscriber sees of one paper: computed once per paper per chunk.

    The email shows the gist and a cut abstract (none in a compact digest); the web
    version shows the gist and the whole abstract, folded. `buzz` is (upvotes, rise in
    the day before): the live count when sending, the count of the day for the archive.
    """
    title = _clip(_plain(readable_title(paper)), TITLE_MAX_CHARS)
    abstract = " ".join(_plain(paper.abstract_text or paper.abstract).split())
    parts = gists.sentences(abstract)
    chosen = gists.choose(title, parts)
    gist = _clip(chosen.text, GIST_MAX_CHARS)
    opening = ""
    if not (web or compact):
        # The rest of the abstract, cut: the gist's sentence is already shown above it.
        rest = " ".join(part for i, part in enumerate(parts) if i != chosen.position)
        opening = abstract_opening(rest, ABSTRACT_SENTENCES, ABSTRACT_MAX_CHARS)
    upvotes, rise = buzz
    return {
        "arxiv_id": paper.arxiv_id,
        "title": title,
        "authors": _plain(
            short_authors(
                list(paper.authors or ()), COMPACT_AUTHORS_SHOWN if compact else AUTHORS_SHOWN
            )
        ),
        "organization": _clip(
            _plain(paper.organization),
            COMPACT_ORGANIZATION_CHARS if compact else ORGANIZATION_MAX_CHARS,
        ),
        "date": paper.announced_on.strftime("%d %b %Y") if paper.announced_on else "",
        "categories": list(paper.categories or ())[:3],
        "upvotes": paper.upvotes if upvotes is None else upvotes,
        "rise": rise,
        "gist": gist,
        "abstract": opening,
        "abstract_full": abstract if web else "",
        "thumbnail_url": web_link(paper.thumbnail_url),
        "thumbnail_alt": _clip(sections.short_title(title), 32 if compact else 80),
        "abs_url": paper_link(paper),
        "pdf_url": web_link(paper.pdf_url) or f"https://arxiv.org/pdf/{paper.arxiv_id}",
        "hf_url": web_link(paper.hf_url),
        "code_url": web_link(paper.code_url),
        # Names the paper in each link's accessible name on the web page, where a list of
        # links would otherwise read "More like this" fifty times; not in the email, whose
        # largest digest has no bytes to spare under Gmail's clipping limit.
        "link_label": title if web else "",
    }
