"""The live preview: "your digest if it were sent now", for the unsaved form."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from digest.delivery.previews import preview_picks
from digest.models import Delivery
from subscriptions import tokens
from subscriptions.models import Interest, Subscriber
from tests.digest.ranking.test_ranking import POOL
from tests.factories import make_paper, make_subscriber

from .test_preferences import VALID

SPEECH_PAPER = "Speech Recognition for Low-Resource Languages"


def preview_path(subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return reverse("subscriptions:preview", args=[token])


@pytest.mark.django_db
def test_the_preview_follows_the_form_not_the_saved_interests(client, alice, papers):
    robots = {**VALID, "categories": ["cs.RO"], "keywords": "laundry", "frequency": "daily"}
    body = client.post(preview_path(alice), robots).content.decode()
    assert "Robot arms that fold laundry" in body
    assert "Why:" in body


@pytest.mark.django_db
def test_the_preview_changes_when_the_form_changes(client, alice, papers):
    robots = {**VALID, "categories": ["cs.RO"], "keywords": "laundry", "frequency": "daily"}
    galaxies = {**robots, "categories": ["astro-ph.CO"], "keywords": "galaxy"}
    first = client.post(preview_path(alice), robots).content.decode()
    second = client.post(preview_path(alice), galaxies).content.decode()
    assert "Robot arms that fold laundry" in first
    assert "A survey of galaxy clusters" in second
    assert first != second


@pytest.mark.django_db
def test_the_preview_saves_nothing(client, alice, papers):
    before_subscriber = Subscriber.objects.values().get(pk=alice.pk)
    before_interest = Interest.objects.values().get(subscriber=alice)
    client.post(preview_path(alice), {**VALID, "paper_limit": "3", "frequency": "daily"})
    assert Subscriber.objects.values().get(pk=alice.pk) == before_subscriber
    assert Interest.objects.values().get(subscriber=alice) == before_interest


@pytest.mark.django_db
def test_the_preview_respects_the_paper_limit(client, alice, papers):
    # Two of the day's papers match (one per category); a limit of one shows one of them.
    data = {
        **VALID,
        "categories": ["cs.CL", "cs.RO"],
        **{"keywords": "", "authors": "", "description": "", "frequency": "daily"},
    }
    both = client.post(preview_path(alice), {**data, "paper_limit": "3"}).content.decode()
    one = client.post(preview_path(alice), {**data, "paper_limit": "1"}).content.decode()
    assert both.count("<li>") == 2
    assert one.count("<li>") == 1
    assert "1 paper from the latest listings" in one


@pytest.mark.django_db
def test_an_invalid_form_shows_what_to_fix(client, alice):
    response = client.post(preview_path(alice), {**VALID, "paper_limit": "99"})
    assert response.status_code == 200
    assert "At most 50 papers" in response.content.decode()


@pytest.mark.django_db
def test_a_choice_the_page_does_not_offer_is_named_in_the_preview(client, alice):
    response = client.post(preview_path(alice), {**VALID, "frequency": "hourly"})
    body = response.content.decode()
    assert "“How often”: the form sent “hourly”" in body
    assert "fields marked" not in body


@pytest.mark.django_db
def test_a_missing_or_failing_ranker_says_preview_unavailable(client, alice, monkeypatch):
    def broken(subscriber, interest_overrides):
        raise RuntimeError("ranking exploded")

    monkeypatch.setattr("digest.delivery.previews.preview_with_sent", broken)
    body = client.post(preview_path(alice), VALID).content.decode()
    assert "Preview unavailable" in body


@pytest.mark.django_db
def test_titles_and_reasons_are_escaped(client, alice, monkeypatch):
    def picks(subscriber, interest_overrides):
        return [
            {
                "arxiv_id": "1",
                "title": "<img src=x onerror=alert(1)>",
                "authors": ["<b>Eve</b>"],
                "abs_url": "https://arxiv.org/abs/1",
                "reason": "<i>because</i>",
                "score": 1.0,
            }
        ], False

    monkeypatch.setattr("digest.delivery.previews.preview_with_sent", picks)
    body = client.post(preview_path(alice), VALID).content.decode()
    assert "<img" not in body and "<b>Eve" not in body and "<i>because" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


@pytest.mark.django_db
def test_the_preview_is_post_only_and_needs_csrf(alice):
    assert Client().get(preview_path(alice)).status_code == 302  # to the preferences page
    assert Client(enforce_csrf_checks=True).post(preview_path(alice), VALID).status_code == 403


@pytest.mark.django_db
def test_a_tampered_token_gets_no_preview(client, alice):
    response = client.post(preview_path(alice)[:-12] + "x/preview/", VALID)
    assert response.status_code == 400


@pytest.mark.django_db
def test_the_preview_reads_a_typed_description_by_its_own_meaning_not_the_saved_ones():
    """The saved description's vector belongs to the saved words: a description typed
    over it is encoded itself, as the reading under the field does."""
    for p in POOL:
        make_paper(p.title, p.abstract, categories=p.categories)
    sam = make_subscriber(
        "sam@example.org", description="speech recognition for low-resource languages"
    )
    form = {"categories": [], "keywords": [], "authors": [], "paper_limit": 10}

    def titles(description: str) -> list[str]:
        return [p["title"] for p in preview_picks(sam, {**form, "description": description})]

    assert titles("speech recognition for low-resource languages")[0] == SPEECH_PAPER
    typed = titles("predicting how proteins fold")
    assert typed == ["Protein Structure Prediction with Graph Networks"]
    assert titles("quantum error correction codes") == []  # nothing on the day is about it


@pytest.mark.django_db
def test_the_preview_quotes_terms_as_the_mail_does(client, alice, papers):
    robots = {**VALID, "categories": ["cs.RO"], "keywords": "laundry", "frequency": "daily"}

    body = client.post(preview_path(alice), robots).content.decode()

    # The mail shows "matches “laundry”" (sections.shown_reason); the stored reason keeps
    # the straight quotes the sections parse, and Django would escape them to &#x27;.
    assert "Why: matches “laundry”" in body
    assert "&#x27;" not in body


@pytest.mark.django_db
def test_after_todays_digest_the_preview_says_its_papers_went_out_not_to_broaden(
    client, alice, papers
):
    # Alice reads parsing in cs.CL; today's digest carried the one paper about it.
    call_command("send_digests", "--all", stdout=io.StringIO())
    assert Delivery.objects.get(subscriber=alice).status == Delivery.Status.SENT

    hers = {
        **VALID,
        "categories": ["cs.CL"],
        "keywords": "parsing",
        "authors": "",
        "description": "",
    }
    body = client.post(preview_path(alice), {**hers, "frequency": "daily"}).content.decode()

    assert "Try broader keywords" not in body
    assert "The papers that match went out in your last digest" in body
