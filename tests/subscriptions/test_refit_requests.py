"""Refit requests: every subscriber's changed answers wait in the database and are refitted
together, in batches, by one debounced task; none is lost to a broker that is down or to
an answer given while a refit runs."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse

from digest import tasks
from digest.celery import app as celery_app
from digest.delivery.schedule import DEFAULT_TASKS
from subscriptions import learners as learning
from subscriptions import services, tokens
from subscriptions.models import Feedback, Learner, RefitRequest
from tests.factories import make_paper, make_subscriber
from tests.subscriptions.test_learners import make_topic_papers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def papers():
    return make_topic_papers()


@pytest.fixture
def eager_tasks(monkeypatch):
    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)


def _subscribers(count: int) -> list:
    return [
        make_subscriber(f"reader{n}@example.com", keywords=["distillation"]) for n in range(count)
    ]


def test_answers_of_many_subscribers_queue_one_task_that_refits_them_all(
    papers, django_capture_on_commit_callbacks, eager_tasks
):
    readers = _subscribers(6)
    with django_capture_on_commit_callbacks(execute=True) as queued:
        for reader in readers:
            services.feedback_record(reader, papers["distillation"][0].arxiv_id, 1)
            services.feedback_record(reader, papers["generic"][0].arxiv_id, -1)
    assert len(queued) == 1  # one task for twelve answers of six subscribers
    assert Learner.objects.filter(liked=1, disliked=1).count() == 6
    assert not RefitRequest.objects.exists()


def test_a_long_wait_is_refitted_in_batches_spread_over_tasks(papers, monkeypatch, eager_tasks):
    readers = _subscribers(7)
    for reader in readers:
        services.feedback_record(reader, papers["distillation"][1].arxiv_id, 1)
    batches = []
    refit = learning.learners_refit
    monkeypatch.setattr(learning, "REFIT_BATCH", 3)
    monkeypatch.setattr(
        learning, "learners_refit", lambda ids: batches.append(list(ids)) or refit(ids)
    )

    assert tasks.refit_requested_learners.apply().get() == 3

    assert sorted(len(b) for b in batches) == [1, 3, 3]
    assert sorted(sid for b in batches for sid in b) == sorted(r.pk for r in readers)
    assert Learner.objects.count() == 7 and not RefitRequest.objects.exists()


def test_an_answer_saved_while_the_broker_is_down_is_refitted_by_the_sweep(
    papers, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis:6379")

    monkeypatch.setattr(tasks.refit_requested_learners, "apply_async", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    assert "ConnectionRefusedError" in caplog.text  # logged, and the answer is kept
    assert RefitRequest.objects.filter(subscriber=alice).exists()
    assert not Learner.objects.exists()

    sweep = {task: crontab for _, task, crontab in DEFAULT_TASKS}
    assert sweep["digest.tasks.refit_requested_learners"] == {"minute": "*/10"}
    assert tasks.refit_requested_learners.apply().get() == 1
    assert Learner.objects.get(subscriber=alice).liked == 1
    assert not RefitRequest.objects.exists()


def test_an_answer_given_while_a_refit_runs_waits_for_the_next_one(papers, monkeypatch):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    prior_vectors = learning._prior_vectors

    def answer_meanwhile(encoder, interests):
        # The refit has read alice's answers; she answers once more before it is stored.
        services.feedback_record(alice, papers["distillation"][1].arxiv_id, 1)
        return prior_vectors(encoder, interests)

    monkeypatch.setattr(learning, "_prior_vectors", answer_meanwhile)
    assert learning.learners_refit([alice.pk]) == 1
    monkeypatch.setattr(learning, "_prior_vectors", prior_vectors)

    assert Learner.objects.get(subscriber=alice).liked == 1
    assert learning.requested_batches() == [[alice.pk]]
    assert tasks.refit_requested_learners.apply().get() == 1
    assert Learner.objects.get(subscriber=alice).liked == 2
    assert learning.requested_batches() == []


def test_without_the_encoder_the_requests_wait(papers, monkeypatch):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    monkeypatch.setattr(learning.semantic, "encoder", lambda: None)
    assert learning.learners_refit([alice.pk]) == 0
    assert learning.requested_batches() == [[alice.pk]]


def test_an_unchanged_learner_settles_its_request_without_a_fit(papers):
    alice = make_subscriber("alice@example.com", keywords=["distillation"])
    services.feedback_record(alice, papers["distillation"][0].arxiv_id, 1)
    assert learning.learners_refit([alice.pk]) == 1
    RefitRequest.objects.create(subscriber=alice, requested_at=alice.created_at)
    assert learning.learners_refit([alice.pk]) == 0
    assert not RefitRequest.objects.exists()


@pytest.mark.django_db(transaction=True)  # on_commit runs at the request's real commit
def test_an_answer_through_the_page_while_the_broker_is_down_is_saved(client, monkeypatch):
    bob = make_subscriber("bob@example.com", keywords=["distillation"])
    paper = make_paper("Knowledge distillation for tiny students")

    def broker_down(*args, **kwargs):
        raise ConnectionRefusedError("redis:6379")

    monkeypatch.setattr(tasks.refit_requested_learners, "apply_async", broker_down)
    token = tokens.make_token(bob, tokens.Purpose.PREFERENCES)
    response = client.post(
        reverse("subscriptions:answer", args=[token]),
        {"arxiv_id": paper.arxiv_id, "signal": "1", "next": "suggestions"},
    )
    assert response.status_code == 302
    assert Feedback.objects.filter(subscriber=bob, signal=1).exists()
    assert RefitRequest.objects.filter(subscriber=bob).exists()
