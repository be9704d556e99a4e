"""Digests as they were or would be sent: the view-in-browser page and the preferences preview."""

from __future__ import annotations

import copy
from dataclasses import asdict, replace
from datetime import UTC, datetime

import numpy as np
from django.conf import settings
from django.utils import timezone

from digest import selectors
from digest.models import Delivery, Paper
from digest.ranking import glossary, semantic
from digest.ranking.glossary import Topic
from digest.ranking.picking import pick, ranker_for
from digest.ranking.ranker import Ranker
from digest.ranking.reading import Reading, ReadTerm, answer_terms, read_description
from digest.ranking.types import PaperDoc
from digest.ranking.words import tokens
from subscriptions.models import Interest, Subscriber

from . import sections
from .display import paper_link
from .rendering import DigestRenderer, StaffPreviewLinks


def render_delivery(
    delivery: Delivery,
    *,
    web: bool = False,
    signed_at: datetime | None = None,
    for_staff: bool = False,
) -> tuple[str, str, str]:
    """Subject, text and HTML of a delivery as it was (or would be) sent; `web` for the
    view-in-browser page (whole abstracts, the archive link), upvotes as on the day.
    `signed_at`: the links signed as of then (as in the mail), not now; `for_staff`:
    links without tokens (the admin's preview), so that looking acts for nobody."""
    items = list(delivery.items.select_related("paper").order_by("rank"))
    renderer = DigestRenderer(
        web=web,
        as_of=delivery.sent_at,
        papers=[i.paper for i in items],
        signed_at=signed_at,
        links=StaffPreviewLinks() if for_staff else None,
    )
    return renderer.render(delivery, [(i, i.paper) for i in items])


def next_pool(subscriber: Subscriber) -> list[PaperDoc]:
    """The pool the subscriber's next digest would draw from: the same wherever they live."""
    today = timezone.now().astimezone(UTC).date()
    since = selectors.digest_since([subscriber], today, settings.DIGEST_WINDOW_DAYS)
    return selectors.paper_pool(since[subscriber.pk])


def description_reading(subscriber: Subscriber, description: str | None = None) -> dict:
    """What the ranking makes of the subscriber's description against the pool of their
    next digest (digest.ranking.reading), as plain data for the preferences page: each
    term and category says whether the subscriber has it already. `description`: the
    text as typed on the page, read instead of the saved one (nothing is saved)."""
    interest = Interest.objects.filter(subscriber=subscriber).first() or Interest(
        subscriber=subscriber
    )
    saved = interest.description.strip()
    text = saved if description is None else description.strip()
    pool = next_pool(subscriber)
    ranker = ranker_for(pool) if pool else None
    # The vector stored with the saved text; a text as typed is encoded (and cached).
    stored = (
        semantic.stored_vector(interest.description_vector, interest.description_model)
        if text == saved
        else None
    )
    reading = (
        read_description(ranker, text, dropped=interest.dropped_terms, vector=stored)
        if ranker and text
        else Reading()
    )
    topics = _topics(ranker, text, stored)
    offered, shared_topics = _from_answers(subscriber, interest, ranker, reading, topics)
    # "neural networks" kept as a keyword is the term "neural network": compare word tokens.
    keywords = {tokens(k) for k in interest.keywords}
    return {
        "description": text,
        "unsaved": text != saved,
        "terms": [
            {
                "label": t.label,
                "weight": t.weight,
                "own": t.own,
                "kept": tokens(t.label) in keywords,
            }
            for t in reading.terms
        ],
        "categories": [
            {"code": c, "followed": c in interest.categories} for c in reading.categories
        ],
        "answer_terms": [{"label": t.label, "weight": t.weight} for t in offered],
        "topics": [_topic(t, keywords) for t in topics],
        "answer_topics": [_topic(t, keywords) for t in shared_topics],
        "matches": reading.matches,
        "pool": len(pool),
        "dropped": list(interest.dropped_terms),
    }


def preview_picks(
    subscriber: Subscriber, interest_overrides: dict | None = None, *, floor: float | None = None
) -> list[dict]:
    """ "Your digest if it were sent now": ranks today's pool with the given interests.
    `floor`: the relevance a pick needs, when not the digest's (the papers step's)."""
    return _preview(subscriber, interest_overrides or {}, floor=floor)[0]


def preview_with_sent(subscriber: Subscriber, interest_overrides: dict) -> tuple[list[dict], bool]:
    """The preview's picks, and, when there are none, whether papers already sent to the
    subscriber would have matched: "its matches went out" rather than "nothing matches"."""
    return _preview(subscriber, interest_overrides, tell_sent=True)


def _preview(
    subscriber: Subscriber, overrides: dict, *, floor: float | None = None, tell_sent=False
) -> tuple[list[dict], bool]:
    interest = Interest.objects.filter(subscriber=subscriber).first() or Interest(
        subscriber=subscriber
    )
    typed = overrides.get("description")
    if typed is not None and typed.strip() != interest.description.strip():
        # The stored vector means the saved words, not these: without it the ranking encodes
        # the text as typed, with the process's one encoder, as the reading does.
        interest.description_vector, interest.description_model = b"", ""
    for name in ("categories", "keywords", "authors", "description"):
        if name in overrides:
            setattr(interest, name, overrides[name])
    if "paper_limit" in overrides:
        # A copy: the caller's subscriber (a page's, which may be saved) keeps its own size.
        subscriber = copy.copy(subscriber)
        subscriber.paper_limit = int(overrides["paper_limit"])
    base = selectors.profiles_for([subscriber])[0]
    profile = selectors.profile_from(
        subscriber, interest, base.already_sent, base.liked, base.disliked, base.learner
    )
    pool = next_pool(subscriber)
    picks = pick(pool, [profile], floor=floor).get(subscriber.pk, [])
    sent_before = False
    if tell_sent and not picks and profile.already_sent:
        # The same pool and profile, its papers sent before allowed: no more queries.
        again = replace(profile, already_sent=frozenset())
        sent_before = bool(pick(pool, [again], floor=floor).get(subscriber.pk))
    papers = Paper.objects.in_bulk([p.paper_id for p in picks])
    return [
        {
            "arxiv_id": papers[p.paper_id].arxiv_id,
            "title": papers[p.paper_id].title_text,
            "authors": list(papers[p.paper_id].authors),
            "abs_url": paper_link(papers[p.paper_id]),
            # Quoted as in the mail; the reason stored with a sent pick keeps straight quotes.
            "reason": sections.curly_quotes(p.reason),
            "score": round(p.score, 4),
        }
        for p in picks
    ], sent_before


def shared_terms(subscriber: Subscriber) -> dict[str, list[dict]]:
    """What the subscriber's "yes" papers share, as the reading offers it (for the papers
    step): its terms ("terms") and topics ("topics"), those already on the page left out."""
    reading = description_reading(subscriber)
    return {"terms": reading["answer_terms"], "topics": reading["answer_topics"]}


def _from_answers(
    subscriber: Subscriber,
    interest: Interest,
    ranker: Ranker | None,
    reading: Reading,
    topics: tuple[Topic, ...],
) -> tuple[tuple[ReadTerm, ...], tuple[Topic, ...]]:
    """The terms and topics the subscriber's "yes" papers share, less what the page shows
    already (the reading's terms and topics, the keywords, the dropped terms)."""
    if ranker is None:
        return (), ()
    base = selectors.profiles_for([subscriber])[0]
    shown = [*(t.label for t in reading.terms), *interest.keywords, *interest.dropped_terms]
    terms = answer_terms(ranker, base.liked, base.disliked, shown=shown)
    shown_topics = [t.name for t in topics]
    return terms, glossary.answer_topics(ranker.text, base.liked, base.disliked, shown=shown_topics)


def _topic(topic: Topic, keywords: set[tuple[str, ...]]) -> dict:
    """A topic as the page shows it: followed when all its keywords are keywords already."""
    return {**asdict(topic), "followed": {tokens(k) for k in topic.keywords} <= keywords}


def _topics(ranker: Ranker | None, text: str, vector: np.ndarray | None) -> tuple[Topic, ...]:
    """The glossary's topics closest to the description; none without the encoder."""
    if ranker is None or not text:
        return ()
    encoder = ranker.text.encoder()
    vectors = ranker.text.text_vectors([text], [vector])
    if encoder is None or vectors is None:
        return ()
    return glossary.topics_for(vectors[0], encoder)
