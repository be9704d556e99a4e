"""Each subscriber's personal Atom feed of the digests they were sent."""

import pytest
from defusedxml import ElementTree
from django.utils import timezone

from digest.delivery import planning, rendering, sending
from digest.models import Delivery
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


def test_the_feed_lists_each_sent_digest_with_its_papers(client, alice):
    sending.send_due(everyone=True)
    row = Delivery.objects.get()

    response = client.get(rendering.feed_url(alice))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ElementTree.fromstring(response.content)
    [entry] = feed.findall(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").text == row.subject
    assert entry.find(f"{ATOM}id").text == f"urn:uuid:{row.public_id}"
    assert entry.find(f"{ATOM}link").get("href") == rendering.view_url(row)
    summary = entry.find(f"{ATOM}summary").text
    assert "Knowledge distillation for small language models" in summary
    assert "graph neural networks" not in summary


def test_the_feed_leaves_out_digests_that_were_not_sent(client, alice):
    planning.plan_deliveries(timezone.now(), everyone=True)

    response = client.get(rendering.feed_url(alice))

    assert ElementTree.fromstring(response.content).findall(f"{ATOM}entry") == []


def test_a_forged_or_borrowed_token_gets_nothing(client, alice):
    unsubscribe_token = tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)

    assert client.get(f"/feed/{unsubscribe_token}/").status_code == 404
    assert client.get("/feed/not-a-token/").status_code == 404
    good = rendering.feed_url(alice)
    assert client.get(good[:-3] + "xx/").status_code == 404


def test_the_view_link_in_the_feed_opens_the_digest(client, alice):
    sending.send_due(everyone=True)
    row = Delivery.objects.get()

    response = client.get(rendering.view_url(row))

    assert response.status_code == 200
    assert b"Knowledge distillation for small language models" in response.content
