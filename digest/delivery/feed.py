"""Each subscriber's digests as a personal Atom feed, behind a signed link.

The link never expires (like unsubscribe links in old emails) and shows only digests that
were actually sent, one entry each, newest first.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.feedgenerator import Atom1Feed
from django.utils.html import format_html, format_html_join

from digest.models import Delivery, DeliveryItem
from subscriptions import tokens
from subscriptions.models import Subscriber

from .rendering import Links, paper_display

FEED_ENTRIES = 20


def digest_feed(request, token: str):
    try:
        data = tokens.read_token(token, tokens.Purpose.FEED)
        subscriber = Subscriber.objects.get(public_id=data.subscriber_public_id)
    except (tokens.BadToken, Subscriber.DoesNotExist):
        return render(request, "subscriptions/bad_link.html", {"expired": False}, status=404)
    links = Links()
    feed = Atom1Feed(
        title=f"{settings.SITE_NAME} digests for {subscriber.email}",
        link=settings.SITE_URL + "/",
        feed_url=links.url(subscriber, tokens.Purpose.FEED),
        description=f"The papers {settings.SITE_NAME} picked for you.",
        language="en",
        feed_guid=f"urn:uuid:{subscriber.public_id}",
    )
    for delivery in sent_deliveries(subscriber):
        feed.add_item(
            title=delivery.subject or f"Digest of {delivery.digest_date:%d %b %Y}",
            link=links.view(delivery),
            description=entry_html(delivery),
            unique_id=f"urn:uuid:{delivery.public_id}",
            unique_id_is_permalink=False,
            pubdate=delivery.sent_at,
            updateddate=delivery.sent_at,
        )
    response = HttpResponse(content_type="application/atom+xml; charset=utf-8")
    feed.write(response, "utf-8")
    response["X-Robots-Tag"] = "noindex"
    return response


def sent_deliveries(subscriber: Subscriber) -> list[Delivery]:
    items = DeliveryItem.objects.select_related("paper").order_by("rank")
    deliveries = (
        Delivery.objects.filter(subscriber=subscriber, status=Delivery.Status.SENT)
        .select_related("subscriber")
        .prefetch_related(Prefetch("items", queryset=items))
        .order_by("-digest_date")[:FEED_ENTRIES]
    )
    return list(deliveries)


def entry_html(delivery: Delivery) -> str:
    rows = []
    for item in delivery.items.all():
        paper = paper_display(item.paper)
        rows.append(
            (paper["abs_url"], paper["title"], paper["authors"], item.reason, paper["abstract"])
        )
    papers = format_html_join(
        "",
        '<li><a href="{}">{}</a><br>{}<br><em>{}</em><br>{}</li>',
        rows,
    )
    return format_html("<ol>{}</ol>", papers)
