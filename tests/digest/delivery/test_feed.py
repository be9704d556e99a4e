"""Each subscriber's personal Atom feed of the digests they were sent."""

from datetime import timedelta

import feedparser
import pytest
import time_machine
from defusedxml import ElementTree
from django.utils import timezone

from digest.delivery import planning, rendering, sending
from digest.models import Delivery, Paper
from subscriptions import tokens
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def alice():
    make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
    make_paper("Distillation of diffusion samplers", categories=("cs.LG",))
    make_paper("A survey of graph neural networks", categories=("cs.LG",))
    return make_subscriber("alice@example.org", keywords=["distillation"])


def test_the_feed_has_one_entry_per_paper_sent_and_parses_without_errors(client, alice):
    sending.send_due(everyone=True)
    row = Delivery.objects.get()
    sent = list(row.items.select_related("paper").order_by("rank"))

    response = client.get(rendering.feed_url(alice))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    parsed = feedparser.parse(response.content)
    assert parsed.bozo is False, parsed.get("bozo_exception")
    assert [e.title for e in parsed.entries] == [i.paper.title_text for i in sent]
    first = parsed.entries[0]
    assert first.link == f"https://arxiv.org/abs/{sent[0].paper.arxiv_id}"
    assert "Why: matches “distillation”" in first.summary
    assert first.published_parsed[:3] == row.sent_at.timetuple()[:3]
    assert len({e.id for e in parsed.entries}) == len(sent)
    assert "graph neural networks" not in response.content.decode()


def test_an_entry_links_to_arxiv_when_the_stored_link_is_no_web_link(client, alice):
    Paper.objects.update(abs_url="javascript:alert(1)")
    sending.send_due(everyone=True)

    parsed = feedparser.parse(client.get(rendering.feed_url(alice)).content)

    assert parsed.entries
    assert all(e.link.startswith("https://arxiv.org/abs/") for e in parsed.entries)


def test_the_feed_link_is_the_same_in_every_digest_and_on_every_fetch(client, alice):
    sending.send_due(everyone=True)
    first = rendering.feed_url(alice)

    with time_machine.travel(timezone.now() + timedelta(days=3)):
        again = rendering.feed_url(alice)
        self_link = feedparser.parse(client.get(again).content).feed.links
    assert first == again
    assert [link.href for link in self_link if link.rel == "self"] == [first]


def test_a_feed_link_from_an_older_digest_still_works(client, alice):
    sending.send_due(everyone=True)
    old_style = tokens.make_token(alice, tokens.Purpose.FEED)  # timestamped, as before

    response = client.get(f"/feed/{old_style}/")

    assert response.status_code == 200
    assert len(feedparser.parse(response.content).entries) == 2


def test_the_feed_leaves_out_digests_that_were_not_sent(client, alice):
    planning.plan_deliveries(timezone.now(), everyone=True)

    response = client.get(rendering.feed_url(alice))

    assert ElementTree.fromstring(response.content).findall(f"{ATOM}entry") == []


def test_a_forged_or_borrowed_token_gets_nothing(client, alice):
    unsubscribe_token = tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)
    other = make_subscriber("bob@example.org", keywords=["graph"])
    bobs = rendering.feed_url(other)

    assert client.get(f"/feed/{unsubscribe_token}/").status_code == 404
    assert client.get(bobs.replace(other.public_id.hex, alice.public_id.hex)).status_code == 404
    assert client.get("/feed/not-a-token/").status_code == 404
    good = rendering.feed_url(alice)
    assert client.get(good[:-3] + "xx/").status_code == 404


def test_the_view_link_in_the_feed_opens_the_digest(client, alice):
    sending.send_due(everyone=True)
    row = Delivery.objects.get()

    response = client.get(rendering.view_url(row))

    assert response.status_code == 200
    assert b"Knowledge distillation for small language models" in response.content


def test_the_feed_does_not_name_its_subscribers_address(client, alice):
    # Feed readers fetch from their own servers, and some list the feeds they know by
    # title: the feed's link must not hand them the reader's address.
    sending.send_due(everyone=True)

    body = client.get(rendering.feed_url(alice)).content.decode()

    assert "alice@example.org" not in body
    assert feedparser.parse(body).feed.title == "Paperboy: your papers"
