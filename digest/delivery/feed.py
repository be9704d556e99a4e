"""Each subscriber's papers as a personal Atom feed, behind a stable signed link.

One entry per paper sent (its title, a link to arXiv, its gist and why it was picked,
dated when its digest went out), newest digests first, so a feed reader lists papers,
not "Your digest, 2 Dec". The link is signed without a timestamp (`links.feed_token`):
the same URL in every digest and as the feed's own self link. Links from digests sent
before that (timestamped `Purpose.FEED` tokens) keep working.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html

from digest.models import Delivery, DeliveryItem
from subscriptions import tokens
from subscriptions.models import Subscriber

from . import gists
from .display import paper_link, readable_title
from .links import Links, read_feed_token
from .sections import shown_reason

FEED_DIGESTS = 20
FEED_ENTRIES = 200


def digest_feed(request, token: str):
    try:
        public_hex = read_feed_token(token)
        subscriber = Subscriber.objects.get(public_id=uuid.UUID(hex=public_hex))
    except (tokens.BadToken, ValueError, Subscriber.DoesNotExist):
        return render(request, "subscriptions/bad_link.html", {"expired": False}, status=404)
    feed = Atom1Feed(
        # No address: feed readers fetch from their servers, and some list feeds by title.
        title=f"{settings.SITE_NAME}: your papers",
        link=settings.SITE_URL + "/",
        feed_url=Links().url(subscriber, tokens.Purpose.FEED),
        description=f"The papers {settings.SITE_NAME} picked for you, one entry each.",
        language="en",
        feed_guid=f"urn:uuid:{subscriber.public_id}",
    )
    for item in sent_items(subscriber):
        add_entry(feed, item)
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    response["X-Robots-Tag"] = "noindex"
    return response


def sent_items(subscriber: Subscriber) -> list[DeliveryItem]:
    """The papers of the subscriber's last FEED_DIGESTS sent digests, newest first."""
    recent = list(
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT)
        .order_by("-digest_date")
        .values_list("pk", flat=True)[:FEED_DIGESTS]
    )
    return list(
        DeliveryItem.objects.filter(delivery_id__in=recent)
        .select_related("paper", "delivery")
        .order_by("-delivery__digest_date", "rank")[:FEED_ENTRIES]
    )


def add_entry(feed: Atom1Feed, item: DeliveryItem) -> None:
    paper, delivery = item.paper, item.delivery
    title = readable_title(paper)
    gist = gists.choose_gist(title, " ".join((paper.abstract_text or paper.abstract).split()))
    reason = shown_reason(item.reason)
    sent = delivery.sent_at or delivery.created_at
    feed.add_item(
        title=title,
        link=paper_link(paper),
        description=format_html(
            "<p>{}</p><p><em>Why: {}</em></p><p>In your digest of {}.</p>",
            gist,
            reason,
            f"{delivery.digest_date:%d %b %Y}",
        ),
        # One id per paper per digest: the same paper sent twice is two entries.
        unique_id=f"urn:uuid:{uuid.uuid5(delivery.public_id, paper.arxiv_id)}",
        unique_id_is_permalink=False,
        pubdate=sent,
        updateddate=sent,
        author_name=", ".join(list(paper.authors or ())[:3]) or None,
        categories=list(paper.categories or ())[:3],
    )
