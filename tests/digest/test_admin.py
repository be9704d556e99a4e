"""The staff console: every model is reachable, searchable and filterable, and the
actions staff rely on (run a source now, resend a delivery, suppress a subscriber) work."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from digest.celery import app as celery_app
from digest.delivery import sending
from digest.ingest.pipeline import ingest_source
from digest.models import (
    Delivery,
    FetchRun,
    Paper,
    PaperSighting,
    Source,
    SourceKind,
    UpvoteSnapshot,
)
from subscriptions.models import Feedback, Subscriber
from tests.factories import make_paper, make_subscriber
from tests.helpers.feeds import FeedServer

pytestmark = pytest.mark.django_db

# Each changelist with a search and a filter staff would really use.
CHANGELISTS = [
    (Paper, {"q": "distillation", "primary_category": "cs.CL"}),
    (Source, {"q": "arxiv", "enabled__exact": "1"}),
    (FetchRun, {"q": "error", "status__exact": "failed"}),
    (Delivery, {"q": "alice", "status__exact": "sent"}),
    (Subscriber, {"q": "alice", "status__exact": "active"}),
    (Feedback, {"q": "alice", "signal__exact": "1"}),
    (PeriodicTask, {"q": "tick"}),
]


@pytest.fixture
def sent_digest():
    paper = make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
    UpvoteSnapshot.objects.create(paper=paper, upvotes=12)
    alice = make_subscriber("alice@example.org", keywords=["distillation"])
    # An answered paper is never sent again: the answer is on an earlier one.
    earlier = make_paper("Distillation of teachers", announced_on=date(2026, 1, 5))
    Feedback.objects.create(subscriber=alice, paper=earlier, signal=1)
    sending.send_due(everyone=True)
    return Delivery.objects.get(subscriber=alice)


def changelist(model) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


def test_every_model_staff_run_is_in_the_admin():
    registered = set(admin.site._registry)
    assert {Paper, Source, FetchRun, Delivery, Subscriber, Feedback, PeriodicTask} <= registered


@pytest.mark.parametrize(("model", "query"), CHANGELISTS, ids=lambda v: getattr(v, "__name__", ""))
def test_each_list_loads_searched_and_filtered(admin_client, sent_digest, model, query):
    assert admin_client.get(changelist(model)).status_code == 200
    response = admin_client.get(changelist(model), query)
    assert response.status_code == 200, response.content[:500]
    assert "errornote" not in response.content.decode()


def test_the_search_finds_what_it_is_asked_for(admin_client, sent_digest):
    make_paper("Diffusion models for protein design", categories=("q-bio.BM",))

    page = admin_client.get(changelist(Paper), {"q": "distillation"}).content.decode()

    assert "Knowledge distillation" in page
    assert "Diffusion models" not in page


def test_a_delivery_page_shows_its_papers_in_rank_order(admin_client, sent_digest):
    url = reverse("admin:digest_delivery_change", args=[sent_digest.pk])
    page = admin_client.get(url).content.decode()

    assert "Knowledge distillation" in page
    assert "matches" in page  # the reason it was picked


def test_a_paper_page_shows_where_it_was_seen_and_its_upvotes(admin_client, sent_digest):
    paper = sent_digest.items.get().paper
    daily = Source.objects.create(
        name="Daily Papers (test)", kind=SourceKind.HF_DAILY, url="https://example.org/daily"
    )
    PaperSighting.objects.create(paper=paper, kind=daily.kind, source=daily)

    page = admin_client.get(reverse("admin:digest_paper_change", args=[paper.pk])).content.decode()

    assert readonly_cells(page, "upvotes") == ["12"]
    assert readonly_cells(page, "source") == ["Daily Papers (test)"]
    assert readonly_cells(page, "kind") == [SourceKind.HF_DAILY.label]


def readonly_cells(page: str, field: str) -> list[str]:
    """The text an admin inline shows for one read-only field, row by row (the hidden
    template row for a new entry left out)."""
    rows = [row for row in page.split("<tr")[1:] if "empty-form" not in row.split(">", 1)[0]]
    cells = (re.search(rf'<td class="field-{field}">\s*<p>(.*?)</p>', row, re.S) for row in rows)
    return [html.unescape(re.sub(r"<[^>]+>", "", c.group(1))).strip() for c in cells if c]


def test_a_subscriber_page_shows_their_interests(admin_client, sent_digest):
    alice = sent_digest.subscriber
    page = admin_client.get(reverse("admin:subscriptions_subscriber_change", args=[alice.pk]))
    assert b"distillation" in page.content


def test_run_now_queues_the_source_and_its_run_is_recorded(admin_client, monkeypatch, settings):
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    Source.objects.all().delete()
    server = FeedServer().start()
    try:
        url = server.serve_file("/cs.AI", "arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml")
        source = Source.objects.create(name="cs.AI", kind="arxiv-rss", url=url)

        response = admin_client.post(
            changelist(Source),
            {"action": "run_now", "_selected_action": [source.pk], "confirm": "yes"},
        )
    finally:
        server.stop()

    assert response.status_code == 302
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert any("Queued 1 source" in n for n in notes), notes
    run = FetchRun.objects.get(source=source)
    assert run.status == FetchRun.Status.OK
    assert run.new_count > 0
    assert Paper.objects.count() == run.new_count


def test_resend_sends_the_same_papers_again_on_the_next_send(admin_client, sent_digest):
    assert len(mail.outbox) == 1

    admin_client.post(
        changelist(Delivery),
        {"action": "resend", "_selected_action": [sent_digest.pk], "confirm": "yes"},
    )
    sending.send_due(everyone=True)

    assert len(mail.outbox) == 2
    assert mail.outbox[1].to == ["alice@example.org"]
    assert "Knowledge distillation" in mail.outbox[1].body
    sent_digest.refresh_from_db()
    assert sent_digest.status == Delivery.Status.SENT


def test_resend_leaves_a_digest_being_sent_alone_and_says_so(admin_client, sent_digest):
    bob = make_subscriber("bob@example.org")
    in_flight = Delivery.objects.create(
        subscriber=bob, digest_date=sent_digest.digest_date, status=Delivery.Status.SENDING,
        claim_token="a-live-claim", attempts=1,
    )  # fmt: skip

    response = admin_client.post(
        changelist(Delivery),
        {"action": "resend", "_selected_action": [sent_digest.pk, in_flight.pk], "confirm": "yes"},
        follow=True,
    )

    [message] = [str(m) for m in get_messages(response.wsgi_request)]
    assert message.startswith("1 deliveries queued to be sent again.")
    assert "1 being sent right now was left alone" in message
    in_flight.refresh_from_db()
    assert (in_flight.status, in_flight.claim_token) == (Delivery.Status.SENDING, "a-live-claim")
    sent_digest.refresh_from_db()
    assert sent_digest.status == Delivery.Status.PENDING


def test_a_sent_digest_cannot_be_deleted_into_a_second_send(admin_client, sent_digest):
    # A deleted row is a digest never planned: the next send would mail the day again.
    listing = admin_client.get(changelist(Delivery)).content.decode()
    assert 'value="delete_selected"' not in listing
    admin_client.post(
        changelist(Delivery),
        {"action": "delete_selected", "_selected_action": [sent_digest.pk], "post": "yes"},
    )
    delete_page = reverse("admin:digest_delivery_delete", args=[sent_digest.pk])
    assert admin_client.post(delete_page, {"post": "yes"}).status_code == 403

    sending.send_due(everyone=True)

    assert Delivery.objects.filter(pk=sent_digest.pk, status=Delivery.Status.SENT).exists()
    assert len(mail.outbox) == 1


def test_deleting_a_subscriber_still_takes_their_deliveries_along(admin_client, sent_digest):
    subscriber_delete = reverse(
        "admin:subscriptions_subscriber_delete", args=[sent_digest.subscriber_id]
    )

    response = admin_client.post(subscriber_delete, {"post": "yes"})

    assert response.status_code == 302
    assert not Subscriber.objects.exists() and not Delivery.objects.exists()


def test_the_deliveries_list_says_why_a_digest_failed_or_waits(admin_client, sent_digest):
    Delivery.objects.filter(pk=sent_digest.pk).update(
        status=Delivery.Status.PENDING,
        error="mail server unavailable: [Errno 111] Connection refused",
    )

    page = admin_client.get(changelist(Delivery)).content.decode()

    assert "mail server unavailable: [Errno 111] Connection refused" in page


def test_suppressing_a_subscriber_stops_their_mail(admin_client, sent_digest):
    alice = sent_digest.subscriber
    make_paper("Distillation, revisited", categories=("cs.CL",))

    admin_client.post(
        changelist(Subscriber),
        {"action": "suppress", "_selected_action": [alice.pk], "confirm": "yes"},
    )
    Delivery.objects.all().delete()  # a new day
    sending.send_due(everyone=True)

    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED
    assert "suppressed by" in alice.suppressed_reason
    assert len(mail.outbox) == 1


def test_staff_cannot_forge_a_fetch_run(admin_client):
    response = admin_client.get(reverse("admin:digest_fetchrun_add"))
    assert response.status_code == 403


def add_source(admin_client, **fields):
    data = {"name": "", "kind": "arxiv-rss", "categories": "", "url": "", "enabled": "on"}
    data.update(fetch_every="03:00:00", **fields)
    return admin_client.post(reverse("admin:digest_source_add"), data)


def test_staff_add_an_arxiv_feed_by_its_categories(admin_client):
    response = add_source(admin_client, name="Robots", categories="cs.RO, cs.SY")

    assert response.status_code == 302, response.content.decode()[:2000]
    assert Source.objects.get(name="Robots").url == "https://rss.arxiv.org/rss/cs.RO+cs.SY"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"categories": "not a category!"}, "not arXiv categories"),
        ({"categories": "cs.LG cs.XX"}, "not arXiv categories: cs.XX"),
        ({"kind": "hf-daily", "categories": "cs.LG"}, "only make sense for an arXiv feed"),
        ({}, "Give the feed"),
    ],
)
def test_a_source_without_a_usable_url_or_category_is_refused(admin_client, fields, message):
    response = add_source(admin_client, name="Broken", **fields)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Source.objects.filter(name="Broken").exists()


def test_a_source_given_a_new_feed_pulls_it_whole_the_first_time(
    admin_client, feed_server, fast_http, no_default_sources
):
    # arXiv rebuilds every feed at once, so their validators (Last-Modified) match: the old
    # feed's, sent with the new URL, got a 304 and nothing until the next day's rebuild.
    old = feed_server.serve_file("/cs.AI", "arxiv-rss-2.0_cs.AI_2025-08-20_announce-types.xml")
    new = feed_server.serve_file(
        "/cs.LG", "arxiv-rss-atom-flavour_cs.AI_2025-08-20_full87.xml", etag='"built-0000"'
    )
    source = Source.objects.create(name="Learning", kind="arxiv-rss", url=old, etag='"built-0000"')

    response = admin_client.post(
        reverse("admin:digest_source_change", args=[source.pk]),
        {"name": "Learning", "kind": "arxiv-rss", "categories": "", "url": new,
         "enabled": "on", "fetch_every": "03:00:00"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    assert (source.url, source.etag) == (new, "")
    run = ingest_source(source)

    assert (run.status, run.new_count) == (FetchRun.Status.OK, 87)


def test_renaming_a_source_keeps_its_feeds_validators(admin_client, no_default_sources):
    source = Source.objects.create(
        name="cs.AI", kind="arxiv-rss", url="https://rss.arxiv.org/rss/cs.AI", etag='"v1"'
    )

    admin_client.post(
        reverse("admin:digest_source_change", args=[source.pk]),
        {"name": "Artificial intelligence", "kind": "arxiv-rss", "categories": "",
         "url": source.url, "enabled": "on", "fetch_every": "03:00:00"},
    )  # fmt: skip

    source.refresh_from_db()
    assert (source.name, source.etag) == ("Artificial intelligence", '"v1"')
