"""Papers as interests: answer suggested papers, paste examples; all undoable, no JS needed."""

from __future__ import annotations

import re

import pytest
import time_machine
from django.core.cache import cache
from django.urls import reverse

from subscriptions import tokens
from subscriptions.models import Feedback, Interest
from tests.factories import make_paper, make_subscriber
from tests.helpers.feeds import API_ERROR, API_PAGE, FeedServer, Reply, feed_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def bob():
    return make_subscriber("bob@example.com", keywords=["distillation"])


@pytest.fixture
def arxiv(settings):
    """A local arXiv API at /api; `arxiv.answer(reply)` says what it answers."""
    server = FeedServer().start()
    settings.ARXIV_MIN_INTERVAL_SECONDS = 0.0

    def answer(reply: Reply) -> None:
        settings.ARXIV_API_URL = server.serve("/api", reply)

    server.answer = answer
    yield server
    server.stop()


@pytest.fixture
def papers():
    return [
        make_paper("Knowledge distillation for tiny students", upvotes=3),
        make_paper("Born Again Neural Networks: distillation", upvotes=9),
    ]


def url(name: str, subscriber) -> str:
    token = tokens.make_token(subscriber, tokens.Purpose.PREFERENCES)
    return reverse(f"subscriptions:{name}", args=[token])


def answer_in_place(client, subscriber, paper, signal: str, on_page: str = "") -> str:
    """An answer as htmx sends it (from the page `on_page`): the fragment that comes back."""
    data = {"arxiv_id": paper.arxiv_id, "signal": signal}
    if on_page:
        data["next"] = on_page
    response = client.post(url("answer", subscriber), data, HTTP_HX_REQUEST="true")
    return response.content.decode()


def test_the_papers_page_offers_what_the_interests_pick_with_two_answers(client, bob, papers):
    body = client.get(url("suggestions", bob)).content.decode()
    assert "Knowledge distillation for tiny students" in body
    assert body.count('name="signal" value="1"') == 2
    assert body.count('name="signal" value="-1"') == 2
    assert "Papers I like" in body


def test_the_papers_step_offers_ten_papers_whatever_the_digest_holds(client):
    # What the learner gets from answers grows with their number (bench/onboarding_split.py).
    for n in range(12):
        make_paper(f"Knowledge distillation, study {n}", upvotes=n)
    dana = make_subscriber("dana@example.com", keywords=["distillation"], paper_limit=3)
    body = client.get(url("suggestions", dana)).content.decode()
    assert body.count('name="signal" value="1"') == 10
    assert "Show ten more, picked with your answers" in body
    dana.refresh_from_db()
    assert dana.paper_limit == 3


def test_an_empty_profile_is_offered_trending_papers(client, papers):
    carol = make_subscriber("carol@example.com")
    body = client.get(url("suggestions", carol)).content.decode()
    assert "Born Again Neural Networks" in body


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_an_answer_without_javascript_is_stored_and_goes_back(client, bob, papers):
    paper = papers[0]
    response = client.post(
        url("answer", bob), {"arxiv_id": paper.arxiv_id, "signal": "-1", "next": "suggestions"}
    )
    assert response.status_code == 302
    noted = f"?noted={paper.arxiv_id}#answer-title"  # back at the list, saying what was noted
    assert response["Location"] == url("suggestions", bob) + noted
    assert Feedback.objects.get(subscriber=bob).signal == -1


def test_the_papers_step_says_which_answer_it_noted_without_javascript(client, bob, papers):
    paper = papers[0]
    data = {"arxiv_id": paper.arxiv_id, "signal": "-1", "next": "suggestions"}

    page = client.post(url("answer", bob), data, follow=True).content.decode()

    assert f"Noted: “{paper.title_text}”, not for me." in page
    assert f'name="arxiv_id" value="{paper.arxiv_id}"' in page  # its Undo, a plain form
    # Only an answer of this subscriber is named: another id says nothing.
    other = client.get(url("suggestions", bob) + "?noted=2501.99999").content.decode()
    assert "Noted:" not in other


def test_an_answer_with_htmx_comes_back_in_place_with_undo(client, bob, papers):
    paper = papers[1]
    response = client.post(
        url("answer", bob), {"arxiv_id": paper.arxiv_id, "signal": "1"}, HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "Yes, like this" in body and "Undo" in body
    undo = client.post(url("feedback_undo", bob), {"arxiv_id": paper.arxiv_id})
    assert undo.status_code == 302
    assert not Feedback.objects.filter(subscriber=bob).exists()


def test_an_answer_on_an_unknown_paper_says_so_and_stores_nothing(client, bob):
    response = client.post(
        url("answer", bob), {"arxiv_id": "0000.00000", "signal": "1"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200  # htmx swaps 2xx answers only
    assert "nothing was saved" in response.content.decode()
    assert not Feedback.objects.exists()


def test_pasted_examples_are_liked_and_listed_on_the_preferences_page(client, bob, papers):
    link = f"https://arxiv.org/abs/{papers[1].arxiv_id}v1"
    response = client.post(url("examples", bob), {"examples": link})
    assert response.status_code == 200
    assert "Noted as papers you like" in response.content.decode()
    page = client.get(url("preferences", bob)).content.decode()
    assert "Born Again Neural Networks" in page
    assert f'value="{papers[1].arxiv_id}"' in page  # its Undo button


def test_a_paper_arxiv_does_not_send_in_time_is_promised_not_lost(client, bob, arxiv):
    arxiv.answer(Reply(status=503, body=b"busy"))
    response = client.post(url("examples", bob), {"examples": "1805.04770"}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert response.status_code == 200
    assert "We could not reach arXiv just now for 1805.04770. We keep asking" in body
    assert "add it as soon as arXiv does" in body
    assert "1805.04770</textarea>" not in body  # nothing to paste again


def test_a_number_no_paper_can_have_is_named_and_the_rest_is_taken(client, bob, papers, arxiv):
    text = f"2413.00001 {papers[1].arxiv_id}"
    response = client.post(url("examples", bob), {"examples": text}, HTTP_HX_REQUEST="true")
    body = response.content.decode()
    assert "No arXiv paper can have the number 2413.00001: arXiv numbers begin with" in body
    assert "Noted as papers you like" in body
    assert ">2413.00001</textarea>" in body  # kept, to mend; the paper taken is not
    assert arxiv.hits("/api") == []


def test_a_paste_over_the_limit_leaves_the_rest_in_the_box_for_the_next_press(client, bob, arxiv):
    for n in range(25):
        make_paper(f"Paper {n}", arxiv_id=f"2401.{n:05d}")
    text = "\n".join(f"https://arxiv.org/abs/2401.{n:05d}" for n in range(25)) + "\nnot-a-paper"

    body = client.post(url("examples", bob), {"examples": text}).content.decode()

    assert "the first 20 were taken, and the other 5 are left in the box below" in body
    left = re.search(r'name="examples"[^>]*>([^<]*)</textarea>', body).group(1)
    assert left.split() == [f"https://arxiv.org/abs/2401.{n:05d}" for n in range(20, 25)] + [
        "not-a-paper"
    ]
    again = client.post(url("examples", bob), {"examples": left}).content.decode()
    assert "were taken" not in again
    assert Feedback.objects.filter(subscriber=bob, signal=1).count() == 25
    assert arxiv.hits("/api") == []


def test_a_paste_longer_than_one_reading_loses_none_of_its_links(client, bob, arxiv):
    # 200 links are some 6,600 characters: the page reads the first 4,000 of a paste.
    for n in range(200):
        make_paper(f"Paper {n}", arxiv_id=f"2401.{n:05d}")
    links = [f"https://arxiv.org/abs/2401.{n:05d}" for n in range(200)]

    body = client.post(url("examples", bob), {"examples": "\n".join(links)}).content.decode()

    assert "the first 20 were taken, and the other 180 are left in the box below" in body
    left = re.search(r'name="examples"[^>]*>([^<]*)</textarea>', body).group(1)
    assert left.split() == links[20:]


def test_an_id_arxiv_rejects_gets_its_answer_and_keeps_the_text(client, bob, arxiv):
    arxiv.answer(Reply(body=feed_bytes(API_ERROR)))
    # The recorded answer is arXiv's to 1234.12345, served here for a possible number.
    response = client.post(url("examples", bob), {"examples": "2401.12345"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "arXiv could not look up 2401.12345 (arXiv API error: incorrect id format" in body
    assert "2401.12345</textarea>" in body


def test_a_bad_example_gets_a_clear_message_and_keeps_the_text(client, bob):
    response = client.post(url("examples", bob), {"examples": "my favourite paper"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Not an arXiv id or arXiv link: my, favourite, paper" in body
    assert "my favourite paper</textarea>" in body
    assert not Feedback.objects.exists()


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_the_confirmation_leads_to_the_papers_step(client):
    dave = make_subscriber("dave@example.com", status="pending")
    token = tokens.make_token(dave, tokens.Purpose.CONFIRM)
    body = client.post(reverse("subscriptions:confirm", args=[token])).content.decode()
    assert url("suggestions", dave) in body


def test_a_bad_token_opens_nothing(client):
    response = client.get(reverse("subscriptions:suggestions", args=["nope"]))
    assert response.status_code == 400


def test_after_only_noes_the_page_asks_for_a_paper_they_like(client, papers):
    carol = make_subscriber("carol@example.com", description="papers about something else")
    extra = [make_paper(f"Unrelated paper {i}") for i in range(3)]
    for paper in [*papers, *extra][:3]:
        client.post(url("answer", carol), {"arxiv_id": paper.arxiv_id, "signal": "-1"})
    assert (
        "None of these is what you mean?"
        not in client.get(url("suggestions", carol)).content.decode()
    )
    # The fourth "not for me", with htmx: the hint comes along, out of band.
    fourth = answer_in_place(client, carol, extra[1], "-1")
    assert 'id="only-noes" hx-swap-oob="innerHTML"' in fourth
    assert "None of these is what you mean?" in fourth
    page = client.get(url("suggestions", carol)).content.decode()
    assert "None of these is what you mean?" in page
    assert 'href="#examples"' in page and 'id="examples"' in page
    assert re.search(r'href="/preferences/[^"/]+/reading/">how we read your description', page)
    # One "yes" and the papers shown are on track: no hint.
    client.post(url("answer", carol), {"arxiv_id": extra[2].arxiv_id, "signal": "1"})
    assert (
        "None of these is what you mean?"
        not in client.get(url("suggestions", carol)).content.decode()
    )


def test_after_only_noes_without_a_description_the_page_asks_for_one(client, papers):
    dave = make_subscriber("dave@example.com", keywords=["galaxies"])
    for paper in [*papers, *(make_paper(f"Unrelated paper {i}") for i in range(2))]:
        client.post(url("answer", dave), {"arxiv_id": paper.arxiv_id, "signal": "-1"})
    page = client.get(url("suggestions", dave)).content.decode()
    hint = page.split('id="only-noes"', 1)[1].split("</div>", 1)[0]
    assert "None of these is what you mean?" in hint
    assert "how we read your description" not in hint
    assert "/reading/" not in hint
    assert re.search(r'href="/preferences/[^"/]+/#id_description"', hint)
    assert "keywords" in hint


@pytest.fixture
def speech_day():
    """Two speech papers, and others that share none of their words."""
    return [
        make_paper("Whisper-style speech recognition", "Transcription of speech with ASR."),
        make_paper("Speech translation on device", "ASR then translation, transcription first."),
        make_paper("Protein folding with graphs", "Graph networks predict residues."),
        make_paper("Diffusion models for images", "Denoising models generate images."),
        make_paper("Offline reinforcement learning", "Policies from logged trajectories."),
    ]


def shared_on(body: str) -> list[str]:
    if "papers share:" not in body:
        return []
    return re.findall(r'name="keep" value="([^"]+)"', body.split("papers share:", 1)[1])


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_after_two_yes_answers_the_papers_step_offers_what_they_share(client, speech_day):
    dora = make_subscriber("dora@example.com", description="machines that listen")
    client.post(url("answer", dora), {"arxiv_id": speech_day[0].arxiv_id, "signal": "1"})
    assert shared_on(client.get(url("suggestions", dora)).content.decode()) == []
    # The second "yes", with htmx: the terms come along, out of band.
    second = answer_in_place(client, dora, speech_day[1], "1")
    assert 'id="shared-terms" hx-swap-oob="true"' in second
    offered = shared_on(client.get(url("suggestions", dora)).content.decode())
    assert "transcription" in offered and offered == shared_on(second)
    # keep, without JavaScript: a keyword now, and back on the papers step.
    kept = client.post(url("reading", dora), {"keep": "transcription", "next": "suggestions"})
    assert kept.status_code == 302 and kept["Location"] == url("suggestions", dora)
    assert Interest.objects.get(subscriber=dora).keywords == ["transcription"]
    assert "transcription" not in shared_on(client.get(url("suggestions", dora)).content.decode())
    # The topic they share too, followed from the papers step.
    page = client.get(url("suggestions", dora)).content.decode()
    assert 'name="topic" value="speech recognition"' in page.split("Topics your “yes”", 1)[1]
    followed = client.post(
        url("reading", dora), {"topic": "speech recognition", "next": "suggestions"}
    )
    assert followed["Location"] == url("suggestions", dora)
    assert "asr" in Interest.objects.get(subscriber=dora).keywords


def test_the_papers_step_works_when_the_shared_terms_fail(client, speech_day, monkeypatch, caplog):
    dora = make_subscriber("dora@example.com", description="machines that listen")
    for paper in speech_day[:2]:
        client.post(url("answer", dora), {"arxiv_id": paper.arxiv_id, "signal": "1"})

    def broken(subscriber):
        raise RuntimeError("ranking unavailable")

    monkeypatch.setattr("digest.delivery.previews.shared_terms", broken)
    response = client.get(url("suggestions", dora))
    assert response.status_code == 200
    assert "papers share:" not in response.content.decode()
    assert "Would you want these?" in response.content.decode()
    assert any("shared terms failed" in r.getMessage() for r in caplog.records)


def test_pasting_is_rate_limited_per_subscriber_and_keeps_the_list(client, bob, arxiv, settings):
    settings.PAPERBOY_RATES = {"examples.subscriber": "2/h"}
    arxiv.answer(Reply(body=feed_bytes(API_PAGE)))  # none of the pasted papers
    for n in range(2):
        client.post(url("examples", bob), {"examples": f"2401.0000{n}"})
    response = client.post(url("examples", bob), {"examples": "2401.00009"})
    in_place = client.post(url("examples", bob), {"examples": "2401.00009"}, HTTP_HX_REQUEST="true")
    allowed = client.post(
        url("examples", make_subscriber("carol@example.com")), {"examples": "2401.00009"}
    )
    assert len(arxiv.hits("/api")) == 3  # the two first pastes and carol's, not bob's third
    assert response.status_code == 429
    body = response.content.decode()
    assert "paused it for a while" in body and "2401.00009</textarea>" in body
    assert in_place.status_code == 200 and "paused it for a while" in in_place.content.decode()
    assert allowed.status_code == 400  # taken (arXiv has no such paper), not limited


def undo_in_place(client, fragment: str) -> str:
    """Presses the Undo of an answer's fragment as htmx does: the fields its form sends."""
    form = fragment.split('hx-post="', 1)[1].split("</form>", 1)[0]
    action = form.split('"', 1)[0]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    button = re.search(r'name="arxiv_id" value="([^"]+)"', form)
    assert button is not None, form
    fields["arxiv_id"] = button[1]
    fields.pop("csrfmiddlewaretoken", None)
    assert action.endswith("/feedback/undo/")  # the token in it carries the time
    return client.post(action, fields, HTTP_HX_REQUEST="true").content.decode()


def test_undo_on_the_papers_step_answers_in_place_and_offers_the_paper_again(client, bob, papers):
    paper = papers[0]
    answered = answer_in_place(client, bob, paper, "1", on_page="suggestions")
    assert 'hx-target="closest li"' in answered
    undone = undo_in_place(client, answered)
    assert not Feedback.objects.filter(subscriber=bob).exists()
    assert f"Yes, like this: {paper.title_text}" in undone  # to answer again
    assert 'name="next" value="suggestions"' in undone
    # What the papers step shows of the answers follows, out of band.
    assert 'id="only-noes" hx-swap-oob="innerHTML"' in undone
    assert 'id="shared-terms" hx-swap-oob="true"' in undone


def test_undo_without_javascript_goes_back_to_the_page_it_was_on(client, bob, papers):
    paper = papers[0]
    # One token for the undo and the page it goes back to: a token made a second later
    # differs (it carries its time).
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    for page, back in (("suggestions", "suggestions"), ("", "preferences")):
        client.post(url("answer", bob), {"arxiv_id": paper.arxiv_id, "signal": "1"})
        undo = client.post(
            reverse("subscriptions:feedback_undo", args=[token]),
            {"arxiv_id": paper.arxiv_id, "next": page},
        )
        assert undo.status_code == 302
        expected = reverse(f"subscriptions:{back}", args=[token])
        assert undo["Location"] == expected + ("#feedback" if not page else "")
        assert not Feedback.objects.filter(subscriber=bob).exists()


def test_undo_puts_back_the_answer_the_undone_one_replaced(client, bob, papers):
    paper = papers[0]
    client.post(url("answer", bob), {"arxiv_id": paper.arxiv_id, "signal": "-1"})  # "fewer"
    answered = answer_in_place(client, bob, paper, "1", on_page="suggestions")  # then "more"
    assert Feedback.objects.get(subscriber=bob).signal == 1
    undone = undo_in_place(client, answered)
    assert Feedback.objects.get(subscriber=bob).signal == -1  # "fewer" again, not forgotten
    assert "Not for me" in undone and "Undo" in undone
    # The same answer twice changed nothing: its Undo forgets it as before.
    again = answer_in_place(client, bob, paper, "-1", on_page="suggestions")
    assert 'name="previous"' not in again
    undo_in_place(client, again)
    assert not Feedback.objects.filter(subscriber=bob).exists()


@pytest.mark.parametrize("previous", ["7", "0", "yes", ""])
def test_undo_with_a_previous_answer_that_is_none_forgets_the_answer(client, bob, papers, previous):
    client.post(url("answer", bob), {"arxiv_id": papers[0].arxiv_id, "signal": "1"})
    data = {"arxiv_id": papers[0].arxiv_id, "previous": previous}
    assert client.post(url("feedback_undo", bob), data).status_code == 302
    assert not Feedback.objects.filter(subscriber=bob).exists()


def test_on_the_preferences_page_an_answer_refreshes_its_feedback_list_only(client, bob, papers):
    listed = client.get(url("suggestions", bob), HTTP_HX_REQUEST="true").content.decode()
    assert 'name="next" value="preferences"' in listed  # the list as that page loads it
    response = client.post(
        url("answer", bob),
        {"arxiv_id": papers[1].arxiv_id, "signal": "1", "next": "preferences"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    feedback = body.split('<section class="card wide" id="feedback"', 1)[1]
    assert feedback.startswith(' aria-labelledby="feedback-title" hx-swap-oob="true">')
    assert "Born Again Neural Networks" in feedback and "None yet" not in feedback
    # That page has no ask for a paper and no list of shared terms of its own: the reading
    # under the description shows those, and reloads when told the answers changed.
    assert 'id="only-noes"' not in body and 'id="shared-terms"' not in body
    assert response["HX-Trigger"] == "answers-changed"
    undone = undo_in_place(client, body)
    assert "None yet" in undone.split('id="feedback"', 1)[1]
    assert 'name="next" value="preferences"' in undone


def test_pasted_examples_on_the_preferences_page_refresh_its_feedback_list(client, bob, papers):
    data = {"examples": papers[1].arxiv_id, "next": "preferences"}
    body = client.post(url("examples", bob), data, HTTP_HX_REQUEST="true").content.decode()
    assert "Noted as papers you like" in body
    assert "Born Again Neural Networks" in body.split('id="feedback" ', 1)[1]
    assert 'id="only-noes"' not in body


def ids_on(body: str) -> list[str]:
    from html.parser import HTMLParser

    found: list[str] = []

    class Ids(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value for name, value in attrs if name == "id")

    Ids().feed(body)
    return found


@time_machine.travel("2026-11-23 09:00:00+00:00", tick=False)  # signatures carry the time
def test_each_id_on_the_papers_step_and_the_preferences_page_is_there_once(client, bob, papers):
    for name in ("suggestions", "preferences"):
        ids = ids_on(client.get(url(name, bob)).content.decode())
        assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)
    # The paste answers in place of its form, not of the section around it.
    pasted = client.post(url("examples", bob), {"examples": "x"}, HTTP_HX_REQUEST="true")
    assert 'hx-target="#examples-form"' in pasted.content.decode()
    assert ids_on(pasted.content.decode())[0] == "examples-form"
