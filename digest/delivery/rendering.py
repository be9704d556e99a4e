"""The digest email: a plain-data context, and the message built from it.

A sender renders thousands of digests that share a few thousand papers, so the work is
split by how often it changes: each paper's display strings and rendered card are kept
per worker process (by paper and template version); a `DigestRenderer` lives for one
chunk and holds the signers and the URL around each token; only the per-subscriber parts
(rank, reason, signed links, the page around the cards) are made per message.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.conf import settings
from django.utils import timezone
from markupsafe import Markup, escape

from digest import selectors
from digest.mail.messages import RenderedEmail, compose_email
from digest.mail.templates import Fragment, header_safe, pack_lines, slot, template
from digest.models import Delivery, DeliveryItem, Paper
from subscriptions import tokens

from . import sections
from .display import paper_display
from .links import Links, StaffPreviewLinks, feed_url, view_url

__all__ = ["DigestRenderer", "Links", "StaffPreviewLinks", "feed_url", "view_url"]

# A digest longer than this shows only the gist of each abstract, so that even the
# largest (50 papers) stays under Gmail's 102 KB clipping limit.
COMPACT_AFTER = 25


class _Recent:
    """A small LRU cache for one process: papers change rarely, digests reuse them a lot."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._items: OrderedDict = OrderedDict()

    def get(self, key):
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
            return value[0]
        return None

    def put(self, key, value, keep=None):
        # `keep` holds on to the objects whose id() is in the key, so no id is reused
        # while its entry lives.
        self._items[key] = (value, keep)
        if len(self._items) > self.size:
            self._items.popitem(last=False)
        return value


def _paper_version(paper: Paper) -> bytes:
    """A digest of every field `paper_display` reads.

    Keyed on this rather than on (pk, last_seen_at), the cache cannot serve stale strings
    after an update that left `last_seen_at` alone (a queryset `update()`) or a reused
    primary key (SQLite after a delete, a test database). Computed once per paper per
    chunk, a few microseconds.
    """
    fields = (
        paper.arxiv_id,
        paper.title,
        paper.title_text,
        paper.abstract,
        paper.abstract_text,
        paper.authors,
        paper.organization,
        paper.announced_on,
        paper.categories,
        paper.upvotes,
        paper.abs_url,
        paper.pdf_url,
        paper.hf_url,
        paper.code_url,
        paper.thumbnail_url,
    )
    return hashlib.blake2b(repr(fields).encode(), digest_size=16).digest()


# Each paper's display strings (by paper version) and rendered cards (by display and
# template version), shared by every chunk a worker process sends.
_displays = _Recent(20_000)
_cards = _Recent(40_000)


# What differs between subscribers inside one paper's card; everything else in the card
# depends on the paper alone.
CARD_SLOTS = ("rank", "reason", "more_url", "fewer_url")


class DigestRenderer:
    """Renders the digests of one chunk, sharing the per-paper work between them.

    Each paper's card (the `card` macro of digest.html and digest.txt) is rendered once
    per chunk with slot markers where the rank, reason and feedback links go; a digest
    then fills the slots of its cards and renders only the document around them. The
    output is exactly what rendering the templates from the context gives (a test holds
    the two equal).

    `web` renders the view-in-browser page (whole abstracts, folded; a link to the
    archive); `as_of` shows the upvotes as they were then (the archive), not live ones;
    `signed_at` signs the links as of then (`Links`), not now; `links` makes them
    another way (the admin's preview: `StaffPreviewLinks`).
    """

    def __init__(
        self,
        *,
        web: bool = False,
        as_of: datetime | None = None,
        papers: Iterable = (),
        signed_at: datetime | None = None,
        links: Links | None = None,
    ) -> None:
        self.links = links or Links(signed_at)
        self.web = web
        self.as_of = as_of
        self._macros: dict[str, Any] = {}
        # Templates are looked up once per chunk: a template edited meanwhile is picked
        # up by the next chunk.
        self._templates = {
            part: template("digest", part) for part in ("subject.txt", "txt", "html")
        }
        # The cached display dict behind each paper in this chunk, by (arxiv id, compact):
        # a chunk loads each paper once, so its version is looked up once per chunk.
        self._shown: dict[tuple[str, bool], dict[str, Any]] = {}
        self._buzz: dict[int, tuple[int | None, int]] = {}
        self.prefetch(papers)
        # Given the chunk's papers up front (send_chunk), no digest looks any up again.
        self._complete = bool(self._buzz)

    def prefetch(self, papers: Iterable[Paper]) -> None:
        """Reads the upvote history of `papers` in one query (a sender calls it once per
        chunk); papers not prefetched are read per digest."""
        missing = [p for p in papers if p.pk not in self._buzz]
        if not missing:
            return
        # Without upvotes now (or then) there is no badge and so no rise to show.
        for paper in missing:
            self._buzz[paper.pk] = (None, 0)
        voted = [p for p in missing if p.upvotes] if self.as_of is None else missing
        if voted:
            as_of = self.as_of or timezone.now()
            live = None if self.as_of else {p.pk: p.upvotes for p in voted}
            self._buzz.update(selectors.upvote_rises([p.pk for p in voted], as_of, live))

    def paper(self, paper: Paper, compact: bool = False) -> dict[str, Any]:
        display = self._shown.get((paper.arxiv_id, compact))
        if display is None:
            buzz = self._buzz.get(paper.pk, (None, 0))
            key = (_paper_version(paper), compact, self.web, buzz)
            display = _displays.get(key)
            if display is None:
                display = _displays.put(
                    key, paper_display(paper, compact=compact, web=self.web, buzz=buzz)
                )
            self._shown[paper.arxiv_id, compact] = display
        return display

    def paper_context(
        self, item: DeliveryItem, paper: Paper, subscriber, compact: bool = False
    ) -> dict[str, Any]:
        return {
            **self.paper(paper, compact),
            "rank": item.rank,
            "reason": sections.shown_reason(item.reason),
            "more_url": self.links.feedback(subscriber, paper.arxiv_id, 1),
            "fewer_url": self.links.feedback(subscriber, paper.arxiv_id, -1),
        }

    def context(
        self, delivery: Delivery, pairs: list[tuple[DeliveryItem, Paper]]
    ) -> dict[str, Any]:
        subscriber = delivery.subscriber
        compact = len(pairs) > COMPACT_AFTER
        if not self._complete:
            self.prefetch(paper for _, paper in pairs)
        papers = [self.paper_context(item, paper, subscriber, compact) for item, paper in pairs]
        order, grouped = _arrange(papers)
        reasons = [paper["reason"] for paper in papers]
        links = self.links
        return {
            "site_name": settings.SITE_NAME,
            "site_url": settings.SITE_URL,
            "date_label": delivery.digest_date.strftime("%a %d %b %Y"),
            "weekly": subscriber.frequency == subscriber.Frequency.WEEKLY,
            **sections.summary([p["title"] for p in papers], reasons),
            "papers": order,
            "sections": grouped,
            "compact": compact,
            "web": self.web,
            # Filled only by `render` below, with ready-made cards; empty, the templates
            # render every card from `papers` themselves.
            "cards": [],
            "email": subscriber.email,
            "preferences_url": links.preferences(subscriber),
            "unsubscribe_url": links.url(subscriber, tokens.Purpose.UNSUBSCRIBE),
            "view_url": links.view(delivery),
            "archive_url": links.archive(delivery) if self.web else "",
            "feed_url": links.url(subscriber, tokens.Purpose.FEED),
        }

    def _card(self, part: str, paper: dict[str, Any], context: dict[str, Any]) -> Fragment:
        # A card depends on the paper's display strings and the template version; the
        # display dict itself is cached per paper version, so its identity is the key.
        source = self._templates[part]
        display = self._shown[paper["arxiv_id"], context["compact"]]
        key = (id(display), id(source))
        fragment = _cards.get(key)
        if fragment is None:
            macro = self._macros.get(part)
            if macro is None:
                module = source.make_module({**context, "papers": [], "sections": []})
                macro = self._macros[part] = module.card  # type: ignore[attr-defined]  # the template's macro
            fragment = Fragment(macro({**paper, **{name: slot(name) for name in CARD_SLOTS}}))
            _cards.put(key, fragment, keep=(display, source))
        return fragment

    def render_context(self, context: dict[str, Any]) -> tuple[str, str, str]:
        html_cards, text_cards = [], []
        for paper in context["papers"]:
            values = {name: str(paper[name]) for name in CARD_SLOTS}
            text_cards.append(self._card("txt", paper, context).fill(values))
            escaped = {
                "rank": values["rank"],  # digits
                "reason": _escaped_reason(values["reason"]),
                "more_url": escape(values["more_url"]),
                "fewer_url": escape(values["fewer_url"]),
            }
            html_cards.append(Markup(self._card("html", paper, context).fill(escaped)))  # noqa: S704 - the fragment is template output, its slots escaped above
        subject = self._templates["subject.txt"].render(context)
        text = self._templates["txt"].render({**context, "cards": text_cards})
        html = self._templates["html"].render({**context, "cards": html_cards})
        return header_safe(subject), text, pack_lines(html)

    def render(self, delivery: Delivery, pairs) -> tuple[str, str, str]:
        return self.render_context(self.context(delivery, pairs))

    def email(self, delivery: Delivery, pairs) -> RenderedEmail:
        context = self.context(delivery, pairs)
        return compose_email(
            "digest",
            delivery.subscriber.email,
            context,
            unsubscribe_url=context["unsubscribe_url"],
            list_id="digest",
            message_key=message_key(delivery),
            rendered=self.render_context(context),
        )


def message_key(delivery: Delivery) -> str:
    """What makes the digest's Message-ID: the same for every try of one sending (a digest
    sent again after a crash is the same message, which receivers show once), new each
    time staff queue it again (under the old one, Gmail would drop the resend unseen)."""
    if delivery.requeued_at is None:
        return delivery.public_id.hex
    return f"{delivery.public_id.hex}.{int(delivery.requeued_at.timestamp())}"


def _arrange(papers: list[dict[str, Any]]) -> tuple[list[dict], list[dict[str, Any]]]:
    """The papers in the order shown (section by section, numbered in that order) and
    the sections as indexes into that order."""
    grouped = sections.sections(papers)
    order = papers if len(grouped) == 1 else [p for s in grouped for p in s["papers"]]
    described, start = [], 0
    for section in grouped:
        end = start + len(section["papers"])
        indexes = list(range(start, end))
        described.append({"kind": section["kind"], "title": section["title"], "indexes": indexes})
        start = end
    for shown, paper in enumerate(order, start=1):
        paper["rank"] = shown
    return order, described


# Reasons repeat across subscribers (the same keywords give the same words); escaping
# one with typographic quotes is the slow path of markupsafe, so it is done once.
_escaped_reasons: dict[str, Markup] = {}


def _escaped_reason(reason: str) -> Markup:
    escaped = _escaped_reasons.get(reason)
    if escaped is None:
        if len(_escaped_reasons) > 50_000:
            _escaped_reasons.clear()
        escaped = _escaped_reasons[reason] = escape(reason)
    return escaped


def digest_context(delivery: Delivery, pairs: list[tuple[DeliveryItem, Paper]]) -> dict[str, Any]:
    return DigestRenderer().context(delivery, pairs)


def render_digest(delivery: Delivery, pairs) -> tuple[str, str, str]:
    return DigestRenderer().render(delivery, pairs)
