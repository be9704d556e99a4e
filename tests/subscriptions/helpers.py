"""Builders and mail helpers shared by the subscription tests."""

from __future__ import annotations

import re

from django.utils import timezone

from digest.models import Paper
from subscriptions.models import Feedback, Interest, Subscriber


def make_subscriber(email: str, status: str = Subscriber.Status.ACTIVE, **fields) -> Subscriber:
    confirmed = timezone.now() if status != Subscriber.Status.PENDING else None
    subscriber = Subscriber.objects.create(
        email=email, status=status, confirmed_at=confirmed, **fields
    )
    Interest.objects.create(subscriber=subscriber, categories=["cs.CL"], keywords=["parsing"])
    return subscriber


def make_paper(arxiv_id: str, title: str, **fields) -> Paper:
    defaults = {
        "title_text": title,
        "abstract_text": f"An abstract about {title.lower()}.",
        "authors": ["Ada Lovelace", "Alan Turing"],
        "categories": ["cs.CL"],
        "primary_category": "cs.CL",
        "announced_on": timezone.localdate(),
    }
    defaults.update(fields)
    return Paper.objects.create(arxiv_id=arxiv_id, title=title, **defaults)


def give_feedback(subscriber: Subscriber, paper: Paper, signal: int = 1) -> Feedback:
    return Feedback.objects.create(subscriber=subscriber, paper=paper, signal=signal)


def link_in(message, path_prefix: str) -> str:
    """The path of the first link in a message's text part that starts with path_prefix."""
    match = re.search(rf"http://testserver({re.escape(path_prefix)}\S+)", message.body)
    assert match, f"no {path_prefix} link in:\n{message.body}"
    return match.group(1)


def html_part(message) -> str:
    return next(content for content, kind in message.alternatives if kind == "text/html")
