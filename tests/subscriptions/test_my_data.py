"""Download my data, and delete my data."""

from __future__ import annotations

import base64
import datetime
import json

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from digest.models import Delivery, DeliveryItem
from subscriptions import tokens
from subscriptions.models import Feedback, Interest, Learner, Subscriber
from tests.factories import give_feedback, make_paper

# Any bytes: the export must hand back what is stored, whatever the weights' layout.
STORED_WEIGHTS = bytes(range(256)) * 3


def url(name: str, subscriber) -> str:
    return reverse(name, args=[tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)])


@pytest.fixture
def alice_history(alice, paper):
    give_feedback(alice, paper, 1)
    delivery = Delivery.objects.create(
        subscriber=alice, digest_date=datetime.date(2025, 1, 2), status="sent", subject="3 papers"
    )
    DeliveryItem.objects.create(delivery=delivery, paper=paper, rank=1, reason="cs.CL")
    Learner.objects.create(
        subscriber=alice,
        weights=STORED_WEIGHTS,
        model="minilm-int8/title+abstract60",
        signature="9f2c" * 16,
        liked=1,
        disliked=0,
    )
    return alice


def download(client, subscriber) -> dict:
    response = client.post(url("subscriptions:my_data", subscriber))
    assert response.status_code == 200
    return json.loads(response.content)


@pytest.mark.django_db
def test_download_is_a_json_attachment_of_everything(client, alice_history):
    response = client.post(url("subscriptions:my_data", alice_history))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert "attachment" in response["Content-Disposition"]
    assert "no-store" in response["Cache-Control"].split(", ")
    data = json.loads(response.content)
    assert data["subscriber"]["email"] == "alice@example.org"
    assert data["interests"]["keywords"] == ["parsing"]
    assert data["feedback"][0]["arxiv_id"] == "2501.00001"
    assert data["deliveries"][0]["papers"] == [
        {"arxiv_id": "2501.00001", "rank": 1, "reason": "cs.CL"}
    ]


@pytest.mark.django_db
def test_download_holds_every_answer_with_its_paper_signal_and_time(client, alice, paper):
    other = make_paper("Robot arms that fold laundry", arxiv_id="2501.00002")
    liked = give_feedback(alice, paper, 1)
    disliked = give_feedback(alice, other, -1)
    answers = {f["arxiv_id"]: f for f in download(client, alice)["feedback"]}
    assert answers == {
        "2501.00001": {
            "arxiv_id": "2501.00001",
            "title": paper.title_text,
            "signal": 1,
            "meaning": "more like this",
            "created_at": liked.created_at.isoformat(),
        },
        "2501.00002": {
            "arxiv_id": "2501.00002",
            "title": "Robot arms that fold laundry",
            "signal": -1,
            "meaning": "fewer like this",
            "created_at": disliked.created_at.isoformat(),
        },
    }


@pytest.mark.django_db
def test_download_holds_the_learner_in_words_and_its_weights_as_stored(client, alice_history):
    learner = Learner.objects.get(subscriber=alice_history)
    exported = download(client, alice_history)["learner"]
    assert "small model" in exported["about"]
    assert "your answers" in exported["about"]
    assert exported["model"] == "minilm-int8/title+abstract60"
    assert exported["fitted_at"] == learner.fitted_at.isoformat()
    assert exported["answers_seen"] == {"liked": 1, "disliked": 0}
    assert exported["signature"] == "9f2c" * 16
    weights = exported["weights"]
    assert weights["encoding"] == "base64"
    assert weights["size_bytes"] == len(STORED_WEIGHTS)
    assert base64.b64decode(weights["data"]) == STORED_WEIGHTS


@pytest.mark.django_db
def test_download_before_any_answer_says_there_is_no_learner(client, alice):
    assert download(client, alice)["learner"] is None


@pytest.mark.django_db
def test_download_is_post_only(client, alice):
    response = client.get(url("subscriptions:my_data", alice))
    assert response.status_code == 302  # to the preferences page: nothing downloaded
    assert "Content-Disposition" not in response


@pytest.mark.django_db
def test_download_needs_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    assert client.post(url("subscriptions:my_data", alice)).status_code == 403


@pytest.mark.django_db
def test_delete_asks_first_on_get_and_changes_nothing(client, alice):
    response = client.get(url("subscriptions:delete", alice))
    assert response.status_code == 200
    assert "cannot be undone" in response.content.decode()
    assert Subscriber.objects.filter(pk=alice.pk).exists()


@pytest.mark.django_db
def test_delete_without_the_confirm_box_keeps_everything(client, alice):
    response = client.post(url("subscriptions:delete", alice))
    assert response.status_code == 400
    assert "Please tick the box" in response.content.decode()
    assert Subscriber.objects.filter(pk=alice.pk).exists()


@pytest.mark.django_db
def test_delete_really_removes_the_subscriber_and_everything_of_theirs(client, alice_history, bob):
    response = client.post(url("subscriptions:delete", alice_history), {"confirm": "yes"})
    assert response.status_code == 200
    assert "Your data is deleted" in response.content.decode()
    assert list(Subscriber.objects.all()) == [bob]
    assert Interest.objects.filter(subscriber_id=alice_history.pk).count() == 0
    assert Feedback.objects.count() == 0
    assert Learner.objects.count() == 0
    assert Delivery.objects.count() == 0
    assert DeliveryItem.objects.count() == 0


@pytest.mark.django_db
def test_after_deletion_old_links_are_friendly_bad_links(client, alice):
    prefs = url("subscriptions:preferences", alice)
    unsubscribe = reverse(
        "subscriptions:unsubscribe",
        args=[tokens.make_token(alice, tokens.Purpose.UNSUBSCRIBE)],
    )
    client.post(url("subscriptions:delete", alice), {"confirm": "yes"})
    assert client.get(prefs).status_code == 400
    assert client.post(unsubscribe, {"List-Unsubscribe": "One-Click"}).status_code == 400


@pytest.mark.django_db
def test_delete_needs_csrf(alice):
    client = Client(enforce_csrf_checks=True)
    response = client.post(url("subscriptions:delete", alice), {"confirm": "yes"})
    assert response.status_code == 403
    assert Subscriber.objects.filter(pk=alice.pk).exists()


@pytest.mark.django_db
def test_the_data_of_an_address_staff_suppressed_names_no_staff_account(client, alice):
    operator = User.objects.create_user("night-operator", password="x", is_staff=True)
    operator.user_permissions.set(Permission.objects.filter(codename="change_subscriber"))
    staff = Client()
    staff.force_login(operator)
    staff.post(
        reverse("admin:subscriptions_subscriber_changelist"),
        {"action": "suppress", "_selected_action": [alice.pk], "confirm": "yes"},
    )
    alice.refresh_from_db()
    assert alice.status == Subscriber.Status.BOUNCED

    data = download(client, alice)

    assert data["subscriber"]["suppressed_reason"].startswith("suppressed by staff on ")
    assert "night-operator" not in json.dumps(data)


@pytest.mark.django_db
def test_an_older_staff_suppression_is_exported_without_the_account_that_made_it(client, alice):
    Subscriber.objects.filter(pk=alice.pk).update(
        status=Subscriber.Status.BOUNCED, suppressed_reason="suppressed by root on 2026-03-01"
    )

    reason = download(client, alice)["subscriber"]["suppressed_reason"]

    assert reason == "suppressed by staff on 2026-03-01"
