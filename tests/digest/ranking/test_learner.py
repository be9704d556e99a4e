"""The learner per subscriber: answers move similar papers, keywords keep their matches."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from digest.ranking import semantic
from digest.ranking.learner import (
    DIMENSIONS,
    Background,
    LearnerConfig,
    from_bytes,
    learner_fit,
    learner_relevance,
    to_bytes,
)
from digest.ranking.ranker import Ranker
from digest.ranking.types import PaperDoc, Profile
from tests.digest.ranking.test_ranking import FILLERS, paper

DISTILLATION = [
    paper(
        200,
        "Born Again Neural Networks",
        "A student network trained to match its teacher's outputs outperforms the teacher.",
    ),
    paper(
        201,
        "Relational Knowledge Distillation",
        "We transfer the relations between a teacher's embeddings to a smaller student model.",
    ),
    paper(
        202,
        "Distilling a Large Language Model into a Tiny Student",
        "Knowledge distillation compresses a large teacher language model into a student.",
    ),
    paper(
        203,
        "Teacher-Student Training for Compact Speech Models",
        "A compact student imitates a large teacher's predictions for speech recognition.",
    ),
]
GENERIC = [
    paper(
        210 + i,
        f"Deep neural networks for {topic}",
        f"Large neural networks trained on {topic} data; models scale with compute.",
    )
    for i, topic in enumerate(["traffic", "crops", "rainfall", "sports", "shipping", "retail"])
]
DAY = DISTILLATION + GENERIC + FILLERS
VAGUE = "smaller neural networks that learn from bigger neural network models"


@pytest.fixture(scope="module")
def ranker() -> Ranker:
    assert semantic.encoder() is not None, "the sentence encoder must load in the tests"
    return Ranker.fit(DAY)


def with_answers(ranker: Ranker, profile: Profile, yes=(), no=()) -> Profile:
    """The profile after these answers, with its learner fitted as subscriptions.learners does."""
    features = ranker.learner_features()
    encoder = semantic.encoder()
    assert features is not None and encoder is not None
    column = {p.id: i for i, p in enumerate(ranker.papers)}
    background = Background.from_vectors(features[:-1].T, ranker.learner.shrinkage)
    prior = encoder.encode([profile.description])[0] if profile.description else None
    weights = learner_fit(
        features[:-1, [column[p.id] for p in yes]].T,
        features[:-1, [column[p.id] for p in no]].T,
        background,
        prior,
    )
    return replace(profile, liked=tuple(yes), disliked=tuple(no), learner=weights)


def order(ranker: Ranker, profile: Profile) -> list[int]:
    return [p.paper_id for p in ranker.rank([profile])[profile.subscriber_id]]


def position(ids: list[int], paper_id: int) -> float:
    return ids.index(paper_id) if paper_id in ids else float("inf")


def test_one_more_like_this_lifts_a_similar_paper_above_where_it_stood(ranker):
    profile = Profile(1, description=VAGUE, limit=20)
    before = order(ranker, profile)
    liked = DISTILLATION[0]
    after = order(ranker, replace(with_answers(ranker, profile, yes=[liked]), already_sent={200}))
    assert after[0] == before[0] == 201  # already first
    for similar in (202, 203):
        assert position(after, similar) < position(before, similar)


def test_one_fewer_like_this_pushes_a_similar_paper_down(ranker):
    profile = Profile(1, description=VAGUE, limit=20)
    before = order(ranker, profile)
    assert 210 in before
    disliked = replace(GENERIC[0], id=299, title="Deep neural networks for logistics")
    answered = with_answers(ranker, profile, no=[GENERIC[0]])
    after = order(ranker, replace(answered, already_sent={210}))
    for similar in (211, 212, 213):
        assert position(after, similar) > position(before, similar)
    assert disliked.id not in after


def test_a_keyword_profile_keeps_its_matches_when_it_answers(ranker):
    profile = Profile(1, keywords=("distillation",), limit=5)
    before = order(ranker, profile)
    relevant = {201, 202}
    assert relevant <= set(before)
    # Yes to one match, no to a paper that does not match: the matches stay on top.
    answered = with_answers(ranker, profile, yes=[DISTILLATION[1]], no=[GENERIC[1]])
    after = order(ranker, replace(answered, already_sent={201, 211}))
    assert after[:1] == [202]


def test_a_reason_names_the_liked_paper_the_pick_resembles(ranker):
    profile = with_answers(ranker, Profile(1, categories=("cs.LG",)), yes=DISTILLATION[:2])
    picks = ranker.rank([replace(profile, already_sent={200, 201})])[1]
    assert picks[0].paper_id in {202, 203}
    assert "which you liked" in picks[0].reason
    assert "'Born Again Neural Networks'" in picks[0].reason or (
        "'Relational Knowledge Distillation'" in picks[0].reason
    )


def test_scores_are_standard_deviations_above_the_background():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(500, DIMENSIONS))
    background = Background.from_vectors(vectors)
    weights = learner_fit(vectors[:3], vectors[3:5], background, vectors[5])
    z = vectors @ weights[:-1] + weights[-1]
    assert abs(z.mean()) < 0.2
    assert 0.8 < z.std() < 1.2


def test_a_handful_of_answers_weighs_more_than_one():
    z = np.full((2, 1), 3.5, dtype=np.float32)
    relevance = learner_relevance(z, np.array([1, 6], dtype=np.float32), LearnerConfig())
    assert 0 < relevance[0, 0] < relevance[1, 0]
    typical = learner_relevance(np.zeros((1, 1), np.float32), np.array([6], np.float32))
    assert typical[0, 0] == 0


def test_weights_survive_storage_as_float16():
    weights = np.linspace(-1, 1, DIMENSIONS + 1).astype(np.float32)
    again = from_bytes(to_bytes(weights))
    assert again is not None and np.allclose(again, weights, atol=1e-3)
    assert len(to_bytes(weights)) == 770
    assert from_bytes(b"short") is None


def test_a_day_without_the_encoder_ranks_without_the_learners(monkeypatch):
    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    learner = np.zeros(DIMENSIONS + 1, dtype=np.float32)
    doc = PaperDoc(1, "x", "Knowledge distillation", "teacher and student")
    picks = Ranker.fit([doc, *FILLERS]).rank(
        [Profile(1, keywords=("distillation",), learner=learner)]
    )
    assert [p.paper_id for p in picks[1]] == [1]
