"""Learners fitted from stored answers: queued once per burst, refitted only on change."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone

from digest import selectors
from digest.delivery.previews import preview_picks
from digest.models import Delivery
from digest.ranking import semantic
from digest.ranking.learner import from_bytes, word_features
from subscriptions import learners as learning
from subscriptions import services, tokens
from subscriptions.answer_views import SUGGESTED
from subscriptions.models import Feedback, Learner
from tests.digest.ranking.test_ranking import FILLER_TOPICS
from tests.factories import make_paper, make_subscriber

pytestmark = pytest.mark.django_db

TOPICS = {
    # As in the papers' real abstracts, each says what it does in the field's words.
    "distillation": [
        (
            "Born Again Neural Networks",
            "Knowledge distillation: a student network trained to match its teacher's "
            "outputs outperforms the teacher.",
        ),
        (
            "Relational Knowledge Distillation",
            "Knowledge distillation that transfers the relations between a teacher's "
            "embeddings to a student.",
        ),
        (
            "Distilling Language Models into Tiny Students",
            "Knowledge distillation of a large teacher language model into a small student.",
        ),
        (
            "Teacher-Student Compression of Speech Models",
            "Knowledge distillation of a large speech teacher into a compact student.",
        ),
    ],
    "generic": [
        (f"Deep neural networks for {t}", f"Large neural networks trained on {t} data.")
        for t in ("traffic", "crops", "rainfall", "sports", "shipping", "retail")
    ],
    # A day holds many topics: the learner measures closeness against their spread.
    "other": [
        (f"Learning {t}", f"We model {t} with statistical learning methods.") for t in FILLER_TOPICS
    ],
}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def make_topic_papers() -> dict[str, list]:
    assert semantic.encoder() is not None, "the sentence encoder must load in the tests"
    # The distillation papers are the least upvoted: before any answer they come last.
    return {
        kind: [make_paper(t, a, upvotes=0 if kind == "distillation" else 5) for t, a in items]
        for kind, items in TOPICS.items()
    }


@pytest.fixture
def papers():
    return make_topic_papers()


def test_answers_in_a_burst_queue_one_refit(papers, django_capture_on_commit_callbacks):
    alice = make_subscriber("alice@example.com", description="smaller neural networks")
    with django_capture_on_commit_callbacks() as queued:
        services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
        services.feedback_record(alice, papers["generic"][0].arxiv_id, -1)
    assert len(queued) == 1


def test_a_refit_happens_only_when_the_answers_change(papers):
    alice = make_subscriber("alice@example.com", description="smaller neural networks")
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    assert learning.learners_refit([alice.pk]) == 1
    assert learning.learners_refit([alice.pk]) == 0
    learner = Learner.objects.get(subscriber=alice)
    assert (learner.liked, learner.disliked) == (1, 0)
    # Compact: the encoder direction and bias, then at most 256 (feature, weight) pairs.
    size = len(bytes(learner.weights))
    assert 770 < size <= 770 + 6 * 256 and (size - 770) % 6 == 0
    services.feedback_record(alice, papers["generic"][0].arxiv_id, -1)
    assert learning.learners_refit([alice.pk]) == 1
    assert Learner.objects.get(subscriber=alice).disliked == 1


def test_undoing_every_answer_removes_the_learner(papers):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    arxiv_id = papers["distillation"][1].arxiv_id
    services.feedback_record(alice, arxiv_id, 1)
    learning.learners_refit([alice.pk])
    assert services.feedback_undo(alice, arxiv_id) == 1
    assert learning.learners_refit([alice.pk]) == 1
    assert not Learner.objects.filter(subscriber=alice).exists()
    assert selectors.profiles_for([alice])[0].learner is None


def test_a_changed_description_refits_the_learner(papers):
    alice = make_subscriber("alice@example.com", description="smaller neural networks")
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    learning.learners_refit([alice.pk])
    alice.interest.description = "students that learn from teachers"
    alice.interest.save()
    assert learning.learners_refit([alice.pk]) == 1


def test_a_dropped_term_stops_counting_in_the_learner_too(papers):
    alice = make_subscriber("alice@example.com", description="speech students of teachers")
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    learning.learners_refit([alice.pk])
    speech = int(word_features(["speech"]).indices[0])

    def speech_weight() -> float:
        stored = from_bytes(bytes(Learner.objects.get(subscriber=alice).weights))
        assert stored is not None
        found = dict(zip(stored.word_features.tolist(), stored.word_weights.tolist(), strict=True))
        return found.get(speech, 0.0)

    assert speech_weight() > 0  # the description's own word counts
    assert services.interest_drop_term(alice, "speech")
    assert learning.learners_refit([alice.pk]) == 1
    assert speech_weight() <= 0
    assert services.interest_restore_term(alice, "speech")
    assert learning.learners_refit([alice.pk]) == 1
    assert speech_weight() > 0


def test_profiles_carry_the_learner_of_the_encoder_in_use(papers):
    alice = make_subscriber("alice@example.com", description="smaller neural networks")
    bob = make_subscriber("bob@example.com", description="smaller neural networks")
    for subscriber in (alice, bob):
        services.feedback_record(subscriber, papers["distillation"][0].arxiv_id, 1)
    learning.learners_refit([alice.pk, bob.pk])
    Learner.objects.filter(subscriber=bob).update(model="another-encoder/title")
    alice_profile, bob_profile = selectors.profiles_for([alice, bob])
    assert alice_profile.learner is not None
    assert alice_profile.learner.direction.shape == (385,)
    assert bob_profile.learner is None


def test_more_like_this_lifts_a_similar_paper_in_the_next_digest(papers):
    # Every paper of the day matches the category alike: only the answer tells them apart.
    alice = make_subscriber("alice@example.com", categories=["cs.LG"], paper_limit=40)
    before = [p["arxiv_id"] for p in preview_picks(alice)]
    liked = papers["distillation"][0]
    services.feedback_record(alice, liked.arxiv_id, 1)
    learning.learners_refit([alice.pk])
    after = [p["arxiv_id"] for p in preview_picks(alice)]

    for similar in papers["distillation"][1:3]:
        assert after.index(similar.arxiv_id) < before.index(similar.arxiv_id)
    assert liked.arxiv_id not in after  # answered: not news any more


def test_the_papers_step_shows_other_papers_picked_with_the_answers_so_far(papers, client):
    # Every paper of the day matches the category alike: only the answers tell them apart.
    alice = make_subscriber("alice@example.com", categories=["cs.LG"])
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    step = reverse("subscriptions:suggestions", args=[token])
    shown = re.compile(r'<li class="answer">\s*<a [^>]*>([^<]+)</a>')
    distillation = [title for title, _ in TOPICS["distillation"]]
    assert not set(shown.findall(client.get(step).content.decode())) & set(distillation)
    for paper, signal in [(papers["distillation"][0], 1), (papers["distillation"][1], 1)]:
        client.post(
            reverse("subscriptions:answer", args=[token]),
            {"arxiv_id": paper.arxiv_id, "signal": str(signal), "next": "suggestions"},
        )

    again = shown.findall(client.get(step).content.decode())

    # Fitted in the request, not 30 seconds later by the queued task: the very next
    # papers shown are the liked ones' kind, ahead of the generic networks.
    assert Learner.objects.filter(subscriber=alice, liked=2).exists()
    assert sorted(again[:2]) == sorted(distillation[2:]), again
    assert learning.learners_refit([alice.pk]) == 0  # the queued refit finds it done


def test_the_papers_step_fills_with_the_closest_papers_not_the_most_upvoted(papers, client):
    # Related to the liked paper, but not enough to be worth a digest: below the floor.
    near = make_paper(
        "Compact networks for phones",
        "Small neural networks that run on phones, trained with a larger network's help.",
        upvotes=0,
    )
    alice = make_subscriber("alice@example.com")  # no interests yet: only the answer
    services.feedback_record(alice, papers["distillation"][3].arxiv_id, 1)
    assert near.arxiv_id not in [p["arxiv_id"] for p in preview_picks(alice)]
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)

    body = client.get(reverse("subscriptions:suggestions", args=[token])).content.decode()

    shown = re.findall(r'<li class="answer">\s*<a [^>]*>([^<]+)</a>', body)
    assert len(shown) == SUGGESTED and near.title_text in shown
    generic = [shown.index(t) for t in shown if t.startswith("Deep neural networks")]
    assert shown.index(near.title_text) < min(generic, default=SUGGESTED)
    assert "trending · 0 upvotes" not in body


def test_a_failing_refit_leaves_the_papers_step_working(papers, client, monkeypatch, caplog):
    alice = make_subscriber("alice@example.com", categories=["cs.LG"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)

    def broken(subscriber_ids):
        raise RuntimeError("the encoder's file is gone")

    monkeypatch.setattr(learning, "learners_refit", broken)
    token = tokens.make_token(alice, tokens.Purpose.PREFERENCES)
    response = client.get(reverse("subscriptions:suggestions", args=[token]))

    assert response.status_code == 200 and "Yes, like this" in response.content.decode()
    assert "learner refit for subscriber" in caplog.text


def test_the_command_refits_every_changed_learner(papers, capsys):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    call_command("refit_learners")
    assert "1 learners refitted or removed, of 1 subscribers" in capsys.readouterr().out
    call_command("refit_learners")
    assert "0 learners refitted" in capsys.readouterr().out


def test_the_command_refuses_a_subscriber_id_that_does_not_exist(papers, capsys):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)

    with pytest.raises(CommandError) as caught:
        call_command("refit_learners", str(alice.pk), "999999", "999998")

    assert str(caught.value) == "no subscribers with ids 999998, 999999; nothing was refitted"
    assert not Learner.objects.filter(subscriber=alice).exists()
    assert capsys.readouterr().out == ""


def test_a_refit_reopens_a_day_decided_empty(papers):
    alice = make_subscriber("alice@example.com", keywords=["astrophysics"])
    empty = Delivery.objects.create(
        subscriber=alice, digest_date=timezone.now().date(), status=Delivery.Status.EMPTY
    )
    sent = Delivery.objects.create(
        subscriber=alice,
        digest_date=timezone.now().date() - timedelta(days=1),
        status=Delivery.Status.SENT,
    )
    Feedback.objects.create(subscriber=alice, paper=papers["distillation"][0], signal=1)
    assert learning.learners_refit([alice.pk]) == 1
    assert not Delivery.objects.filter(pk=empty.pk).exists()
    assert Delivery.objects.filter(pk=sent.pk).exists()
