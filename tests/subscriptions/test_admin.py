"""The subscriber's page in the staff console: their answers and the learner fitted on them
are shown read only, and staff may refit the learners now (asked first, recorded)."""

from __future__ import annotations

import html
import logging
import re

import pytest
import time_machine
from django.contrib.admin.models import LogEntry
from django.contrib.auth.models import Permission, User
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from digest.ranking import semantic
from subscriptions.admin import REFIT_AT_ONCE
from subscriptions.models import Feedback, Learner, RefitRequest, Subscriber
from tests.factories import give_feedback, make_paper, make_subscriber
from tests.helpers.adminforms import submitted

pytestmark = pytest.mark.django_db

SUBSCRIBERS = reverse("admin:subscriptions_subscriber_changelist")
SIGNATURE = "5e1f0c3a9b7d" + "0" * 52


def change_page(subscriber: Subscriber) -> str:
    return reverse("admin:subscriptions_subscriber_change", args=[subscriber.pk])


def cells(page: str, field: str) -> list[str]:
    """The text of one read-only column of the inlines, row by row."""
    found = re.findall(rf'<td class="field-{field}">\s*<p>(.*?)</p>', page, re.S)
    return [html.unescape(re.sub(r"<[^>]+>", "", c)).strip() for c in found]


@pytest.fixture
def answered(alice):
    """Alice said yes to one paper and no to another; her learner was fitted on them."""
    liked = make_paper("Born Again Neural Networks", arxiv_id="1805.04770")
    disliked = make_paper("Deep neural networks for traffic", arxiv_id="2501.00009")
    give_feedback(alice, liked, 1)
    give_feedback(alice, disliked, -1)
    Learner.objects.create(
        subscriber=alice,
        weights=bytes(770),
        model="minilm-int8/title+abstract60",
        signature=SIGNATURE,
        liked=1,
        disliked=1,
    )
    return alice


@pytest.fixture
def viewer(client):
    """Staff who may look at subscribers and their answers but change nothing."""
    user = User.objects.create_user("viewer", password="x", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_subscriber", "view_feedback"])
    )
    client.force_login(user)
    return client


def test_the_subscriber_page_shows_the_learner_read_only(admin_client, answered):
    page = admin_client.get(change_page(answered)).content.decode()
    assert "a small model fitted on the answers below" in page
    assert cells(page, "model") == ["minilm-int8/title+abstract60"]
    assert cells(page, "liked") == ["1"]
    assert cells(page, "disliked") == ["1"]
    assert cells(page, "size") == ["770 bytes"]
    assert cells(page, "signature_short") == [SIGNATURE[:12]]
    assert SIGNATURE not in page
    assert len(cells(page, "fitted_at")) == 1
    assert cells(page, "refit") == ["up to date"]
    assert 'name="learner-0-model"' not in page


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)
def test_the_subscriber_page_says_when_answers_wait_for_the_refit(admin_client, answered):
    RefitRequest.objects.create(subscriber=answered, requested_at=timezone.now())
    page = admin_client.get(change_page(answered)).content.decode()
    assert cells(page, "refit") == ["waiting since 2026-11-23 09:00:00"]


def test_the_subscriber_page_lists_their_answers_newest_first_read_only(admin_client, answered):
    page = admin_client.get(change_page(answered)).content.decode()
    assert cells(page, "signal") == ["fewer like this", "more like this"]
    papers = cells(page, "paper")
    assert "2501.00009" in papers[0] and "Deep neural networks for traffic" in papers[0]
    assert "1805.04770" in papers[1] and "Born Again Neural Networks" in papers[1]
    assert 'name="feedback-0-signal"' not in page


def test_staff_who_may_see_a_subscriber_see_their_learner(viewer, answered):
    page = viewer.get(change_page(answered)).content.decode()
    assert cells(page, "size") == ["770 bytes"]
    assert cells(page, "signal") == ["fewer like this", "more like this"]


def test_saving_the_subscriber_keeps_their_answers_and_learner(admin_client, answered):
    data = submitted(admin_client.get(change_page(answered)).content.decode())
    data["paper_limit"] = ["7"]
    response = admin_client.post(change_page(answered), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    answered.refresh_from_db()
    assert answered.paper_limit == 7
    assert Feedback.objects.filter(subscriber=answered).count() == 2
    learner = Learner.objects.get(subscriber=answered)
    assert (learner.signature, learner.liked, learner.disliked) == (SIGNATURE, 1, 1)


def refit(client, subscribers, *, confirm: bool = True):
    data = {"action": "refit_learners", "_selected_action": [s.pk for s in subscribers]}
    if confirm:
        data["confirm"] = "yes"
    return client.post(SUBSCRIBERS, data)


@pytest.fixture
def carol():
    """Answered two papers; no learner yet (the refit task never ran)."""
    assert semantic.encoder() is not None, "the sentence encoder must load in the tests"
    carol = make_subscriber("carol@example.org", description="smaller neural networks")
    student = make_paper(
        "Distilling Language Models into Tiny Students",
        "Knowledge distillation of a large teacher language model into a small student.",
    )
    traffic = make_paper(
        "Deep neural networks for traffic", "Large neural networks trained on traffic data."
    )
    for n in range(6):
        make_paper(f"Learning topic {n}", f"We model topic {n} with statistical methods.")
    give_feedback(carol, student, 1)
    give_feedback(carol, traffic, -1)
    return carol


def test_refitting_asks_first_and_fits_nothing_until_confirmed(admin_client, carol):
    page = refit(admin_client, [carol], confirm=False)
    assert page.status_code == 200
    assert "Refit these subscribers' learners now?" in html.unescape(page.content.decode())
    assert "carol@example.org" in page.content.decode()
    assert not Learner.objects.exists()
    assert not LogEntry.objects.exists()


def test_a_confirmed_refit_fits_the_learner_on_the_answers_and_is_recorded(
    admin_client, carol, caplog
):
    with caplog.at_level(logging.INFO, logger="digest.admin"):
        response = refit(admin_client, [carol])
    assert response.status_code == 302
    learner = Learner.objects.get(subscriber=carol)
    assert (learner.liked, learner.disliked) == (1, 1)
    assert len(learner.weights) > 0
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert notes == [
        "Learners refitted or removed: 1 of 1 selected subscribers; the others were up to date."
    ]
    history = LogEntry.objects.get()
    assert history.object_id == str(carol.pk)
    assert history.change_message == "learner refitted if changed (admin action)"
    assert "admin action by admin: learner refitted" in caplog.text


def test_refitting_an_unchanged_learner_leaves_it_as_it_was(admin_client, carol):
    refit(admin_client, [carol])
    before = Learner.objects.get(subscriber=carol)
    response = refit(admin_client, [carol])
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert notes[-1].startswith("Learners refitted or removed: 0 of 1 selected subscribers")
    after = Learner.objects.get(subscriber=carol)
    assert (after.fitted_at, bytes(after.weights)) == (before.fitted_at, bytes(before.weights))


def test_staff_without_the_change_permission_cannot_refit(viewer, carol):
    response = refit(viewer, [carol])
    assert response.status_code in (200, 302)
    assert not Learner.objects.exists()
    assert not LogEntry.objects.exists()


def test_refitting_more_than_a_request_can_hold_is_refused(admin_client):
    many = Subscriber.objects.bulk_create(
        Subscriber(email=f"reader{n}@example.org", status="active")
        for n in range(REFIT_AT_ONCE + 1)
    )
    response = refit(admin_client, many)
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert len(notes) == 1 and "manage.py refit_learners" in notes[0]
    assert not LogEntry.objects.exists()


def test_without_the_encoder_a_refit_says_so_and_changes_nothing(admin_client, carol, monkeypatch):
    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    response = refit(admin_client, [carol])
    notes = [str(m) for m in get_messages(response.wsgi_request)]
    assert notes == [
        "The sentence encoder is not available here (see the logs): nothing was refitted."
    ]
    assert not Learner.objects.exists()
    assert not LogEntry.objects.exists()
