"""A paper someone received or answered is part of their record: staff cannot delete it
(that would erase the digests it was sent in, and a later pull could send it to the same
people again); they retract it from future digests instead, and can offer it again."""

from __future__ import annotations

import html

import pytest
from django.core import mail
from django.db.models import ProtectedError
from django.urls import reverse

from digest import selectors
from digest.delivery import planning, sending
from digest.ingest.pipeline import upsert
from digest.ingest.retraction import papers_restore, papers_retract
from digest.models import Delivery, DeliveryItem, Paper, UpvoteSnapshot
from digest.sources.base import PaperRecord
from subscriptions.models import Feedback
from tests.factories import give_feedback, make_paper, make_subscriber

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:digest_paper_changelist")


@pytest.fixture
def sent_paper() -> Paper:
    paper = make_paper("Knowledge distillation for small language models", categories=("cs.CL",))
    make_subscriber("alice@example.org", keywords=["distillation"])
    sending.send_due(everyone=True)
    assert DeliveryItem.objects.filter(paper=paper, delivery__status="sent").count() == 1
    return paper


def delete_page(paper: Paper) -> str:
    return reverse("admin:digest_paper_delete", args=[paper.pk])


def text_of(response) -> str:
    return html.unescape(response.content.decode())


def act(client, action: str, *papers: Paper):
    data = {"action": action, "_selected_action": [p.pk for p in papers], "confirm": "yes"}
    return client.post(CHANGELIST, data, follow=True)


def test_staff_cannot_delete_a_paper_sent_in_a_digest_and_are_told_to_retract_it(
    admin_client, sent_paper
):
    response = admin_client.post(delete_page(sent_paper), {"post": "yes"})

    assert Paper.objects.filter(pk=sent_paper.pk).exists()
    assert DeliveryItem.objects.filter(paper=sent_paper).count() == 1
    page = text_of(response)
    assert "sent in 1 digest" in page
    assert "Retract the selected papers from future digests" in page


def test_deleting_several_papers_at_once_refuses_while_one_of_them_was_sent(
    admin_client, sent_paper
):
    spare = make_paper("Nobody got this one")
    data = {"action": "delete_selected", "_selected_action": [sent_paper.pk, spare.pk]}
    response = admin_client.post(CHANGELIST, {**data, "post": "yes"})

    assert Paper.objects.filter(pk__in=[sent_paper.pk, spare.pk]).count() == 2
    page = text_of(response)
    assert f"{sent_paper.arxiv_id} was sent in 1 digest" in page
    assert spare.arxiv_id not in page.split("protected related objects")[-1]


def test_a_paper_a_subscriber_answered_cannot_be_deleted_either(admin_client):
    paper = make_paper("Pasted as an example at sign-up")
    give_feedback(make_subscriber("bob@example.org"), paper, signal=1)

    response = admin_client.post(delete_page(paper), {"post": "yes"})

    assert Paper.objects.filter(pk=paper.pk).exists()
    assert Feedback.objects.filter(paper=paper).count() == 1
    assert "answered by 1 subscriber" in text_of(response)


def test_the_database_keeps_the_record_whatever_tries_to_delete_the_paper(sent_paper):
    with pytest.raises(ProtectedError):
        Paper.objects.filter(pk=sent_paper.pk).delete()
    assert DeliveryItem.objects.filter(paper=sent_paper).count() == 1


def test_a_paper_nobody_received_or_answered_can_still_be_deleted(admin_client):
    paper = make_paper("A stray record from a broken pull")
    UpvoteSnapshot.objects.create(paper=paper, upvotes=3)

    admin_client.post(delete_page(paper), {"post": "yes"})

    assert not Paper.objects.filter(pk=paper.pk).exists()


def test_a_retracted_paper_is_left_out_of_every_future_digest(admin_client):
    retracted = make_paper("Distillation with a flawed benchmark")
    kept = make_paper("Distillation done right")
    act(admin_client, "retract", retracted)
    make_subscriber("carol@example.org", keywords=["distillation"])

    sending.send_due(everyone=True)

    sent = Delivery.objects.get(subscriber__email="carol@example.org")
    assert list(sent.items.values_list("paper_id", flat=True)) == [kept.pk]
    assert retracted.pk not in {doc.id for doc in selectors.paper_pool(retracted.announced_on)}
    assert retracted.arxiv_id not in {p["arxiv_id"] for p in selectors.top_papers()}


def test_a_resent_digest_leaves_out_a_paper_retracted_since(sent_paper):
    kept = make_paper("Distillation for speech models, done right", categories=("cs.CL",))
    delivery = Delivery.objects.get()
    DeliveryItem.objects.create(delivery=delivery, paper=kept, rank=2, score=1.0, reason="")
    papers_retract([sent_paper.pk])
    planning.deliveries_requeue(Delivery.objects.all())

    sending.send_due(everyone=True)

    [_, resent] = mail.outbox
    assert "done right" in resent.body
    assert sent_paper.title not in resent.body
    # What was sent before stays on record.
    assert DeliveryItem.objects.filter(paper=sent_paper).count() == 1


def test_retracting_asks_first_and_then_keeps_the_digests_already_sent(admin_client, sent_paper):
    data = {"action": "retract", "_selected_action": [sent_paper.pk]}
    question = admin_client.post(CHANGELIST, data)
    assert "Retract these papers from future digests?" in text_of(question)
    sent_paper.refresh_from_db()
    assert sent_paper.retracted_at is None

    response = act(admin_client, "retract", sent_paper)

    sent_paper.refresh_from_db()
    assert sent_paper.retracted_at is not None
    assert "1 paper retracted from future digests" in text_of(response)
    assert DeliveryItem.objects.filter(paper=sent_paper).count() == 1


def test_a_retracted_paper_can_be_offered_again(admin_client):
    paper = make_paper("Distillation, reconsidered")
    papers_retract([paper.pk])

    response = act(admin_client, "restore", paper)

    paper.refresh_from_db()
    assert paper.retracted_at is None
    assert "1 paper offered in digests again" in text_of(response)
    assert paper.pk in {doc.id for doc in selectors.paper_pool(paper.announced_on)}


def test_offering_a_retracted_paper_again_asks_first(admin_client):
    paper = make_paper("Withdrawn by its authors")
    papers_retract([paper.pk])
    data = {"action": "restore", "_selected_action": [paper.pk]}

    page = text_of(admin_client.post(CHANGELIST, data))

    assert "Offer these papers in digests again?" in page
    assert "Withdrawn by its authors" in page
    paper.refresh_from_db()
    assert paper.retracted_at is not None


def test_retracting_twice_keeps_the_first_time_and_restoring_counts_only_changes():
    paper = make_paper("Retracted once")
    assert papers_retract([paper.pk]) == 1
    first = Paper.objects.get(pk=paper.pk).retracted_at

    assert papers_retract([paper.pk]) == 0
    assert Paper.objects.get(pk=paper.pk).retracted_at == first
    assert papers_restore([paper.pk]) == 1
    assert papers_restore([paper.pk]) == 0


def test_a_retracted_paper_stays_retracted_when_a_source_lists_it_again():
    paper = make_paper("Distillation, first version")
    papers_retract([paper.pk])

    record = PaperRecord(
        arxiv_id=paper.arxiv_id,
        title="Distillation, second version",
        version=2,
        authors=["Ada Lovelace"],
        categories=["cs.LG"],
        announced_on=paper.announced_on,
    )
    outcome = upsert([record], kind="arxiv-api")

    assert (outcome.new, outcome.updated) == (0, 1)
    paper.refresh_from_db()
    assert paper.version == 2
    assert paper.retracted_at is not None


def test_the_papers_list_shows_and_filters_the_retracted(admin_client):
    retracted = make_paper("Withdrawn by its authors")
    offered = make_paper("Still offered")
    papers_retract([retracted.pk])

    page = text_of(admin_client.get(CHANGELIST, {"retracted": "yes"}))

    assert retracted.title_text in page and offered.title_text not in page
    assert ">retracted<" in page
