"""The whole daily digest on the embedded default: snapshot → sign-up → confirm → send."""

import re

import pytest
from django.core.management import call_command

from digest.mail import outbox
from digest.models import Delivery, Paper
from subscriptions.models import Subscriber

pytestmark = pytest.mark.django_db


def only_link(text: str, path: str) -> str:
    links = re.findall(rf"http://testserver(/{path}/\S+/)", text)
    assert len(links) == 1, links
    return links[0]


def test_a_new_reader_gets_exactly_one_digest_of_real_papers_matching_their_interests(
    client, outbox_backend
):
    call_command("load_snapshot")
    assert Paper.objects.count() > 50

    page = client.post("/", {"email": "reader@example.org", "keywords": "agents"})
    assert page.status_code == 200
    [confirmation] = outbox.list_messages()
    assert confirmation.to == "reader@example.org"
    confirm_path = only_link(confirmation.text, "confirm")

    assert client.get(confirm_path).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.PENDING  # a GET changes nothing
    assert client.post(confirm_path).status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.ACTIVE

    call_command("send_digests", "--all")
    call_command("send_digests", "--all")

    digests = [m for m in outbox.list_messages() if m.header("List-Id")]
    assert len(digests) == 1
    digest = digests[0]
    assert digest.to == "reader@example.org"
    assert digest.text and digest.html
    assert digest.header("List-Unsubscribe-Post") == "List-Unsubscribe=One-Click"
    assert digest.header("Auto-Submitted") == "auto-generated"
    papers = [item.paper for item in Delivery.objects.get().items.order_by("rank")]
    assert papers, "the digest carried no papers"
    for paper in papers:
        assert re.search(r"\bagents?\b", f"{paper.title} {paper.abstract}", re.I), paper
        assert paper.title_text in digest.text

    unsubscribe_path = re.search(
        r"<http://testserver(/unsubscribe/\S+/)>", digest.header("List-Unsubscribe")
    ).group(1)
    one_click = client.post(
        unsubscribe_path,
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert one_click.status_code == 200
    assert Subscriber.objects.get().status == Subscriber.Status.UNSUBSCRIBED
