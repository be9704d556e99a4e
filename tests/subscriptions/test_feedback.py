"""Feedback links from the digest: GET shows a button, POST stores, undo removes."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from subscriptions import services, tokens
from subscriptions.models import Feedback
from tests.factories import give_feedback, make_paper
from tests.helpers.links import feedback_path


@pytest.mark.django_db
def test_the_get_page_shows_a_button_escapes_the_title_and_stores_nothing(client, alice, paper):
    response = client.get(feedback_path(alice, paper.arxiv_id, 1))
    assert response.status_code == 200
    body = response.content.decode()
    assert "More papers like this?" in body
    assert "Parsing with &lt;b&gt;transformers&lt;/b&gt;" in body
    assert "data-autosubmit" not in body  # a person presses the button; no script does
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_post_stores_more_like_this(client, alice, paper):
    response = client.post(feedback_path(alice, paper.arxiv_id, 1))
    assert response.status_code == 200
    assert "Thanks, noted" in response.content.decode()
    feedback = Feedback.objects.get()
    assert (feedback.subscriber, feedback.paper, feedback.signal) == (alice, paper, 1)


@pytest.mark.django_db
def test_a_double_submit_stores_one_row(client, alice, paper):
    path = feedback_path(alice, paper.arxiv_id, -1)
    client.post(path)
    client.post(path)
    assert Feedback.objects.filter(subscriber=alice).count() == 1


@pytest.mark.django_db
def test_the_other_button_changes_the_signal(client, alice, paper):
    client.post(feedback_path(alice, paper.arxiv_id, 1))
    client.post(feedback_path(alice, paper.arxiv_id, -1))
    assert list(Feedback.objects.values_list("signal", flat=True)) == [-1]


@pytest.mark.django_db
def test_old_style_arxiv_ids_with_a_slash_work(client, alice):
    make_paper("Strings, old style", arxiv_id="hep-th/9901001")
    response = client.post(feedback_path(alice, "hep-th/9901001", 1))
    assert response.status_code == 200
    assert Feedback.objects.get().paper.arxiv_id == "hep-th/9901001"


@pytest.mark.django_db
def test_a_tampered_feedback_token_stores_nothing(client, alice, paper):
    token = tokens.make_token(alice, tokens.Purpose.FEEDBACK, extra=f"{paper.arxiv_id}:1")
    forged = token.replace(":1:", ":-1:", 1)
    response = client.post(reverse("subscriptions:feedback", args=[forged]))
    assert response.status_code == 400
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_a_signal_other_than_plus_or_minus_one_is_a_bad_link(client, alice, paper):
    token = tokens.make_token(alice, tokens.Purpose.FEEDBACK, extra=f"{paper.arxiv_id}:5")
    response = client.post(reverse("subscriptions:feedback", args=[token]))
    assert response.status_code == 400
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_feedback_on_a_paper_we_no_longer_have_is_a_friendly_page(client, alice):
    response = client.post(feedback_path(alice, "2401.99999", 1))
    assert response.status_code == 404
    assert "We no longer have that paper" in response.content.decode()
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_feedback_needs_csrf(alice, paper):
    response = Client(enforce_csrf_checks=True).post(feedback_path(alice, paper.arxiv_id, 1))
    assert response.status_code == 403
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_the_thanks_page_can_undo(client, alice, paper):
    path = feedback_path(alice, paper.arxiv_id, 1)
    page = client.post(path).content.decode()
    assert f'action="{path}"' in page and 'name="undo"' in page
    response = client.post(path, {"undo": "1"})
    assert "Undone" in response.content.decode()
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
def test_undo_on_the_thanks_page_puts_back_the_answer_it_replaced(client, alice, paper):
    give_feedback(alice, paper, -1)  # "not for me" on the papers step, days ago
    path = feedback_path(alice, paper.arxiv_id, 1)
    page = client.post(path).content.decode()  # then "more like this" in a digest

    undo = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', page))
    response = client.post(path, undo)

    assert list(Feedback.objects.values_list("signal", flat=True)) == [-1]
    assert "Undone: your earlier answer, fewer like this, is back." in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("before", "click", "replaced"),
    [(None, 1, None), (1, 1, None), (-1, 1, -1), (1, -1, 1)],
    ids=["first-answer", "same-again", "fewer-then-more", "more-then-fewer"],
)
def test_an_answer_says_which_answer_its_undo_puts_back(alice, paper, before, click, replaced):
    if before is not None:
        give_feedback(alice, paper, before)

    answered = services.feedback_record(alice, paper.arxiv_id, click)

    assert (answered.feedback.signal, answered.replaced) == (click, replaced)


@pytest.mark.django_db
def test_an_answer_on_a_paper_we_do_not_have_is_not_stored(alice):
    assert services.feedback_record(alice, "2601.99999", 1) is None
    assert Feedback.objects.count() == 0


@pytest.mark.django_db
@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_preferences_page_lists_feedback_with_undo_buttons(client, alice, paper):
    give_feedback(alice, paper, -1)
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    body = client.get(reverse("subscriptions:preferences", args=[token])).content.decode()
    assert "Fewer like this" in body
    assert "Parsing with &lt;b&gt;transformers&lt;/b&gt;" in body
    assert reverse("subscriptions:feedback_undo", args=[token]) in body


@pytest.mark.django_db
def test_undo_is_post_only_and_touches_only_the_token_holder(client, alice, bob, paper):
    give_feedback(alice, paper, 1)
    give_feedback(bob, paper, 1)
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    undo = reverse("subscriptions:feedback_undo", args=[token])
    assert client.get(undo).status_code == 302  # to the preferences page, undoing nothing
    assert Feedback.objects.count() == 2
    response = client.post(undo, {"arxiv_id": paper.arxiv_id})
    assert response.status_code == 302
    assert list(Feedback.objects.values_list("subscriber__email", flat=True)) == [bob.email]
