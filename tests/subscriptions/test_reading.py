"""The reading of a description on the preferences page: keep a term as a keyword, drop it
(it stops counting), restore it; plain forms without JavaScript, in place with htmx."""

from __future__ import annotations

import re
from urllib.parse import urljoin

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from digest.delivery.previews import preview_picks
from subscriptions import services, tokens
from subscriptions.models import Interest, Subscriber
from tests.digest.ranking.test_ranking import POOL
from tests.factories import make_paper, make_subscriber

from .test_preferences import VALID

pytestmark = pytest.mark.django_db

TWO_TOPICS = "knowledge distillation and speech recognition"
SPEECH_PAPER = "Speech Recognition for Low-Resource Languages"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def day():
    """The ranking tests' small day of ten papers on different topics, in the database."""
    return [make_paper(p.title, p.abstract, categories=p.categories) for p in POOL]


@pytest.fixture
def dana(day) -> Subscriber:
    """Describes two topics in a sentence, follows no keywords."""
    return make_subscriber("dana@example.org", description=TWO_TOPICS)


def url(subscriber: Subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return reverse("subscriptions:reading", args=[token])


def prefs_url(subscriber: Subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return reverse("subscriptions:preferences", args=[token])


def interest(subscriber: Subscriber) -> Interest:
    return Interest.objects.get(subscriber=subscriber)


def titles(subscriber: Subscriber) -> list[str]:
    return [p["title"] for p in preview_picks(subscriber)]


def test_the_reading_page_without_javascript_shows_each_term_with_keep_and_drop(client, dana):
    body = client.get(url(dana)).content.decode()
    assert "Read as:" in body
    chips = re.findall(r'<span class="term"[^>]*>([^<]+)</span>', body)
    assert chips[:2] == ["speech recognition", "knowledge distillation"]  # heaviest first
    assert 'name="keep" value="speech recognition"' in body
    assert 'name="drop" value="speech recognition"' in body
    assert 'id="reading-actions"' in body and "csrfmiddlewaretoken" in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_preferences_page_loads_the_reading_under_the_description(client, dana):
    body = client.get(prefs_url(dana)).content.decode()
    assert body.index('id="id_description"') < body.index('id="description-reading"')
    # Relative to the page's own address (the token would weigh 100 bytes each time).
    assert urljoin(prefs_url(dana), "reading/") == url(dana)
    assert 'hx-post="reading/"' in body and 'hx-trigger="load, input changed' in body
    assert 'href="reading/"' in body  # without JavaScript: a link to the reading page
    assert 'action="reading/" id="reading-actions"' in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_dropping_a_term_stops_it_counting_and_restoring_undoes_it(client, dana):
    assert SPEECH_PAPER in titles(dana)
    response = client.post(url(dana), {"drop": "speech recognition", "next": "preferences"})
    assert response.status_code == 302
    assert response["Location"] == prefs_url(dana) + "#description-reading"
    assert interest(dana).dropped_terms == ["speech recognition"]
    assert SPEECH_PAPER not in titles(dana)
    assert "Knowledge Distillation for Small Language Models" in titles(dana)

    client.post(url(dana), {"restore": "speech recognition"})
    assert interest(dana).dropped_terms == []
    assert SPEECH_PAPER in titles(dana)


def test_with_htmx_the_reading_follows_the_description_as_typed_and_saves_nothing(client, dana):
    before = Interest.objects.values().get(subscriber=dana)
    typed = {"description": "speech recognition for languages with little data"}
    response = client.post(url(dana), typed, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "As typed, not saved yet." in body
    assert 'name="drop" value="speech recognition"' in body
    assert 'name="drop" value="knowledge distillation"' not in body
    assert "HX-Trigger" not in response and "HX-Trigger-After-Swap" not in response
    assert Interest.objects.values().get(subscriber=dana) == before


def test_with_htmx_a_drop_answers_in_place_with_restore_and_refreshes_the_preview(client, dana):
    response = client.post(url(dana), {"drop": "speech recognition"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert response["HX-Trigger-After-Swap"] == "interests-changed"
    assert "<s>speech recognition</s>" in body
    assert 'name="restore" value="speech recognition"' in body
    assert 'name="drop" value="speech recognition"' not in body
    assert "<html" not in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_keep_adds_the_term_to_the_keywords(client, dana):
    response = client.post(url(dana), {"keep": "knowledge distillation", "next": "reading"})
    assert response.status_code == 302 and response["Location"] == url(dana)
    assert interest(dana).keywords == ["knowledge distillation"]
    body = client.get(url(dana)).content.decode()
    assert 'name="keep" value="knowledge distillation"' not in body  # a keyword now
    client.post(url(dana), {"keep": "knowledge distillation"})
    assert interest(dana).keywords == ["knowledge distillation"]  # once


def test_with_htmx_keep_also_fills_the_keywords_field_as_typed_so_saving_keeps_it(client, dana):
    typed = 'parsing "graph neural networks"'  # typed on the page, not saved yet
    response = client.post(
        url(dana), {"keep": "speech recognition", "keywords": typed}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert 'id="id_keywords"' in body and 'hx-swap-oob="true"' in body
    assert (
        'value="parsing &quot;graph neural networks&quot; &quot;speech recognition&quot;"' in body
    )
    assert interest(dana).keywords == ["speech recognition"]


def test_keep_with_fifty_keywords_already_says_so_and_adds_nothing(client, day):
    full = [f"topic{i}" for i in range(50)]
    fay = make_subscriber("fay@example.org", keywords=full, description=TWO_TOPICS)
    response = client.post(
        url(fay), {"keep": "speech recognition", "keywords": "x"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert "Nothing was added: 50 keywords at most" in body
    assert 'id="id_keywords"' not in body  # the field on the page is left as it is
    assert interest(fay).keywords == full


def test_a_dropped_term_kept_later_counts_again(client, dana):
    client.post(url(dana), {"drop": "speech recognition"})
    client.post(url(dana), {"keep": "speech recognition"})
    assert interest(dana).dropped_terms == []
    assert interest(dana).keywords == ["speech recognition"]


def test_saving_the_preferences_form_keeps_the_dropped_terms(client, dana):
    client.post(url(dana), {"drop": "speech recognition"})
    client.post(prefs_url(dana), {**VALID, "description": TWO_TOPICS})
    assert interest(dana).dropped_terms == ["speech recognition"]


def test_follow_adds_a_category_the_reading_found(client, dana):
    make_paper(
        "Distilling speech models", "Distillation for speech recognition.", categories=["cs.CL"]
    )
    body = client.get(url(dana)).content.decode()
    assert 'name="follow" value="cs.CL"' in body
    client.post(url(dana), {"follow": "cs.CL"})
    client.post(url(dana), {"follow": "not.a-category"})
    assert interest(dana).categories == ["cs.CL"]


def test_with_htmx_a_follow_ticks_the_category_in_the_form_on_the_page(client, dana):
    htmx = {"HTTP_HX_REQUEST": "true"}
    body = client.post(url(dana), {"follow": "cs.CL"}, **htmx).content.decode()
    tick = "hx-swap-oob=\"outerHTML:#category-groups input[value='cs.CL']\""
    assert 'name="categories" value="cs.CL" checked ' + tick in body
    # Followed already (unticked on the page, not saved): ticked all the same.
    assert tick in client.post(url(dana), {"follow": "cs.CL"}, **htmx).content.decode()
    # A code we do not know has no checkbox to tick.
    body = client.post(url(dana), {"follow": "not.a-category"}, **htmx).content.decode()
    assert 'name="categories"' not in body


def test_a_post_without_a_term_changes_nothing_and_says_so(client, dana):
    response = client.post(url(dana), {"drop": "  "})
    assert response.status_code == 400
    assert "no term was chosen" in response.content.decode()
    assert interest(dana).dropped_terms == []


def test_the_actions_need_csrf(dana):
    response = Client(enforce_csrf_checks=True).post(url(dana), {"drop": "speech recognition"})
    assert response.status_code == 403
    assert interest(dana).dropped_terms == []


def test_a_bad_or_foreign_token_changes_nothing(client, dana):
    bad = reverse("subscriptions:reading", args=["not-a-token"])
    assert client.post(bad, {"drop": "speech recognition"}).status_code == 400
    unsubscribe = tokens.make_token(dana, tokens.Purpose.UNSUBSCRIBE)
    other = reverse("subscriptions:reading", args=[unsubscribe])
    assert client.post(other, {"drop": "speech recognition"}).status_code == 400
    assert interest(dana).dropped_terms == []


def test_without_a_description_the_reading_asks_for_one(client, day):
    erin = make_subscriber("erin@example.org", keywords=["parsing"])
    body = client.get(url(erin)).content.decode()
    assert "Write a sentence" in body
    assert 'name="drop"' not in body


def test_my_data_lists_the_dropped_terms(client, dana):
    client.post(url(dana), {"drop": "speech recognition"})
    token = tokens.make_token(dana, tokens.Purpose.PREFERENCES)
    data = client.post(reverse("subscriptions:my_data", args=[token])).json()
    assert data["interests"]["dropped_terms"] == ["speech recognition"]


@pytest.fixture
def sam(day) -> Subscriber:
    """Describes speech recognition, and said yes to both distillation papers of the day."""
    sam = make_subscriber("sam@example.org", description="speech recognition")
    for paper in day:
        if "Distillation" in paper.title:
            services.feedback_record(sam, paper.arxiv_id, 1)
    return sam


def offered(body: str) -> list[str]:
    """The terms of the "yes" papers' list, in order."""
    if 'aria-label="Your yes papers share"' not in body:
        return []
    shared = body.split('aria-label="Your yes papers share"', 1)[1].split("</ul>", 1)[0]
    return re.findall(r'<span class="term"[^>]*>([^<]+)</span>', shared)


def test_the_terms_the_yes_papers_share_are_offered_to_keep(client, sam):
    body = client.get(url(sam)).content.decode()
    assert offered(body) == ["knowledge distillation"]
    assert 'name="keep" value="knowledge distillation"' in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_keeping_a_shared_term_makes_it_a_keyword_and_it_is_no_longer_offered(client, sam):
    client.post(url(sam), {"keep": "knowledge distillation", "next": "reading"})
    assert interest(sam).keywords == ["knowledge distillation"]
    assert offered(client.get(url(sam)).content.decode()) == []


def test_one_yes_paper_offers_no_terms_yet(client, day):
    one = make_subscriber("one@example.org", description="speech recognition")
    services.feedback_record(one, day[0].arxiv_id, 1)
    body = client.get(url(one)).content.decode()
    assert offered(body) == [] and "papers share:" not in body


@pytest.fixture
def theo(day) -> Subscriber:
    """Describes learning theory in everyday words."""
    return make_subscriber(
        "theo@example.org", description="proving with mathematics when training on examples works"
    )


def test_the_reading_offers_the_fields_names_for_the_description_to_follow(client, theo):
    body = client.get(url(theo)).content.decode()
    assert "Topics that sound like what you describe:" in body
    assert 'name="topic" value="learning theory"' in body
    assert "adds: learning theory, pac learning" in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_following_a_topic_adds_its_words_to_the_keywords_once(client, theo):
    response = client.post(url(theo), {"topic": "learning theory", "next": "reading"})
    assert response.status_code == 302 and response["Location"] == url(theo)
    keywords = interest(theo).keywords
    assert keywords[:2] == ["learning theory", "pac learning"] and len(keywords) >= 4
    body = client.get(url(theo)).content.decode()
    assert 'name="topic" value="learning theory"' not in body  # followed now
    client.post(url(theo), {"topic": "learning theory"})
    assert interest(theo).keywords == keywords


def test_with_htmx_following_a_topic_also_fills_the_keywords_field(client, theo):
    body = client.post(
        url(theo),
        {
            "topic": "learning theory",
            "keywords": "parsing",
            "description": theo.interest.description,
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'id="id_keywords"' in body and "parsing" in body and "pac learning" in body


def test_an_unknown_topic_adds_nothing(client, theo):
    client.post(url(theo), {"topic": "no such topic"})
    assert interest(theo).keywords == []


def test_a_topic_that_would_pass_fifty_keywords_says_so_and_adds_nothing(client, day):
    full = make_subscriber(
        "full@example.org", description="learning theory", keywords=[f"k{i}" for i in range(48)]
    )
    response = client.post(url(full), {"topic": "learning theory"})
    assert response.status_code == 400
    assert "50 keywords at most" in response.content.decode()
    assert len(interest(full).keywords) == 48


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_topics_the_yes_papers_share_are_offered_to_follow(client, sam):
    body = client.get(url(sam)).content.decode()
    shared = body.split("Topics your “yes” papers share:", 1)[1]
    assert 'name="topic" value="knowledge distillation"' in shared
    client.post(url(sam), {"topic": "knowledge distillation", "next": "reading"})
    assert "knowledge distillation" in interest(sam).keywords
    after = client.get(url(sam)).content.decode().split("Topics your “yes” papers share:", 1)[1]
    assert 'value="knowledge distillation"' not in after and "followed" in after
