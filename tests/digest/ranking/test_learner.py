"""The learner per subscriber: answers move similar papers, keywords keep their matches."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from scipy import sparse
from sklearn.svm import LinearSVC

from digest.ranking import learner, scoring, semantic
from digest.ranking.learner import (
    DIMENSIONS,
    WORD_FEATURES,
    Background,
    LearnerConfig,
    from_bytes,
    learner_fit,
    learner_relevance,
    learner_rows,
    prior_words,
    to_bytes,
    word_features,
)
from digest.ranking.ranker import Ranker
from digest.ranking.scoring import word_scores
from digest.ranking.types import LearnerWeights, PaperDoc, Pick, Profile
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
    rows = learner_rows(ranker.learner_words().T.tocsr(), features[:-1].T)
    background = Background.of([p.id for p in ranker.papers], rows, 500)
    text = profile.description or ", ".join(profile.keywords)
    prior = learner_rows(word_features([text]), encoder.encode([text])) if text else None
    weights = learner_fit(
        rows[[column[p.id] for p in yes]],
        rows[[column[p.id] for p in no]],
        background,
        prior,
        answered=frozenset(p.id for p in [*yes, *no]),
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


def test_scores_are_standard_deviations_above_the_background(ranker):
    answered = with_answers(ranker, Profile(1, description=VAGUE), yes=DISTILLATION[:2])
    weights = answered.learner
    assert weights is not None
    features = ranker.learner_features()
    assert features is not None
    words = np.zeros(WORD_FEATURES, dtype=np.float32)
    words[weights.word_features] = weights.word_weights
    z = weights.direction @ features + ranker.learner_words().T @ words
    assert abs(z.mean()) < 1e-3
    assert abs(z.std() - 1) < 1e-3
    # The liked topic stands out: the unanswered distillation papers above every other one.
    column = {p.id: i for i, p in enumerate(ranker.papers)}
    others = [column[p.id] for p in ranker.papers if p.id not in {200, 201, 202, 203}]
    assert min(z[column[202]], z[column[203]]) > 1 > z[others].max()


def test_answers_outweigh_a_vague_description_once_there_are_two_yes(ranker):
    profile = Profile(1, description=VAGUE, limit=20)
    before = order(ranker, profile)
    # The vague sentence reads as "neural networks": the generic papers come first.
    assert position(before, 210) < position(before, 203)
    answered = with_answers(ranker, profile, yes=DISTILLATION[:2], no=GENERIC[:2])
    after = order(ranker, replace(answered, already_sent={200, 201, 210, 211}))
    assert after[:2] == [202, 203] or after[:2] == [203, 202]


def test_a_handful_of_answers_weighs_more_than_one():
    z = np.full((2, 1), 3.5, dtype=np.float32)
    relevance = learner_relevance(z, np.array([1, 6], dtype=np.float32), LearnerConfig())
    assert 0 < relevance[0, 0] < relevance[1, 0]
    typical = learner_relevance(np.zeros((1, 1), np.float32), np.array([6], np.float32))
    assert typical[0, 0] == 0


def test_weights_survive_storage_compactly():
    weights = LearnerWeights(
        np.linspace(-1, 1, DIMENSIONS + 1).astype(np.float32),
        np.array([3, 70_000, WORD_FEATURES - 1]),
        np.array([0.5, -0.25, 2.0], dtype=np.float32),
    )
    data = to_bytes(weights)
    assert len(data) == 770 + 3 * 6
    again = from_bytes(data)
    assert again is not None and np.allclose(again.direction, weights.direction, atol=1e-3)
    assert again.word_features.tolist() == [3, 70_000, WORD_FEATURES - 1]
    assert np.allclose(again.word_weights, weights.word_weights, atol=1e-3)
    assert from_bytes(b"short") is None
    assert from_bytes(data + b"x") is None


def test_a_day_without_the_encoder_ranks_without_the_learners(monkeypatch):
    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    learner = LearnerWeights.empty(DIMENSIONS)
    doc = PaperDoc(1, "x", "Knowledge distillation", "teacher and student")
    picks = Ranker.fit([doc, *FILLERS]).rank(
        [Profile(1, keywords=("distillation",), learner=learner)]
    )
    assert [p.paper_id for p in picks[1]] == [1]


def test_sure_answers_reorder_the_interests_matches_but_never_fill_a_quiet_day():
    profile = Profile(1, keywords=("neural networks",), limit=100)
    config = LearnerConfig()
    ranker = Ranker.fit(DAY, learner=config)
    as_before = Ranker.fit(DAY, learner=replace(config, interests_share=1.0))
    answered = replace(with_answers(ranker, profile, yes=DISTILLATION[:2]), already_sent={200, 201})
    sure, unsure = order(ranker, answered), order(as_before, answered)
    # Both keyword matches and learner picks are eligible either way: the same papers.
    assert set(sure) == set(unsure)
    # Sure of their answers, the liked topic leads even over papers the keyword names
    # in the title; at full weight every title match stays ahead of it.
    assert set(sure[:2]) == {202, 203}
    assert position(unsure, 202) > position(unsure, 119)


def test_the_fast_fit_finds_the_weights_linear_svc_finds(ranker):
    features = ranker.learner_features()
    assert features is not None
    rows = learner_rows(ranker.learner_words().T.tocsr(), features[:-1].T)
    y = np.zeros(rows.shape[0])
    y[:3] = 1
    weight = np.ones(rows.shape[0])
    weight[3:5] = 3.0
    config = LearnerConfig()
    fast = learner._svm_coef(rows, y, weight, config)
    slow = LinearSVC(
        C=config.c, class_weight="balanced", tol=config.tol, max_iter=1000, random_state=0
    )
    slow.fit(rows, y, sample_weight=weight)
    assert learner._liblinear_train is not None  # the fast path is the one in use
    assert np.allclose(fast, slow.coef_.ravel(), atol=1e-5)


def test_the_priors_words_leave_out_dropped_terms_as_the_query_does():
    text = "Shrinking large neural networks into compact models"

    everything = set(prior_words(text).indices.tolist())
    assert everything == set(word_features([text]).indices.tolist())
    # A dropped word takes the phrases holding it along (plurals folded).
    no_network = set(prior_words(text, ["network"]).indices.tolist())
    gone = everything - no_network
    hashed = {g: int(word_features([g]).indices.max()) for g in ("networks", "neural")}
    assert hashed["networks"] in gone and hashed["neural"] not in gone
    assert len(gone) == 3  # "networks", "neural networks", "networks compact"
    # A dropped phrase takes its own words along, and nothing else.
    no_phrase = everything - set(prior_words(text, ["neural network"]).indices.tolist())
    assert len(no_phrase) == 3  # "neural", "networks", "neural networks"
    assert hashed["neural"] in no_phrase


def test_papers_words_are_hashed_once_and_read_back_the_same(monkeypatch):
    texts = [
        f"Paper {n}. Paper {n}. Knowledge distillation of teacher {n} into students."
        for n in range(5)
    ]
    monkeypatch.setattr(learner, "_WORD_ROWS", type(learner._WORD_ROWS)())
    monkeypatch.setattr(learner, "_WORD_ROWS_LIMIT", 3)
    hashed = []
    monkeypatch.setattr(learner, "word_features", lambda t: hashed.extend(t) or word_features(t))

    first = learner.paper_word_rows(texts[:3])
    again = learner.paper_word_rows([texts[2], texts[1], texts[2], texts[3]])
    everything = learner.paper_word_rows(texts)

    assert hashed == [*texts[:3], texts[3], texts[0], texts[4]]  # each once while kept
    for rows, of in ((first, texts[:3]), (again, [texts[2], texts[1], texts[2], texts[3]])):
        assert (rows != word_features(of)).nnz == 0
    assert (everything != word_features(texts)).nnz == 0
    assert len(learner._WORD_ROWS) == 3  # the oldest ones make room


def test_the_words_product_is_the_sparse_product_to_the_last_bit(ranker, monkeypatch):
    words = ranker.learner_words()
    weights = sparse.random(
        7, WORD_FEATURES, density=0.001, format="lil", dtype=np.float32, random_state=3
    )
    weights[:, words.indices[:50]] = 0.25  # words the papers have, so the sums are not zero
    weights = weights.tocsr()
    expected = (weights @ words).toarray()
    assert np.count_nonzero(expected) > 0
    assert np.array_equal(word_scores(weights, words), expected)
    assert word_scores(weights[:0], words).shape == (0, words.shape[1])
    monkeypatch.setattr(scoring, "csr_matmat", None)  # a SciPy without the kernel
    assert np.array_equal(word_scores(weights, words), expected)


def test_a_day_ranked_in_shares_gives_each_subscriber_the_same_picks(ranker):
    """The send workers rank the day chunk by chunk, each in its own process with its own
    fitted pool: a digest must not depend on who was ranked beside its subscriber, nor on
    what the worker ranked before it.

    Up to the order of papers with equal scores: "Deep neural networks for traffic" and
    "... for sports" score the same, and which comes first follows the last bit of the
    encoder product, whose rounding depends on how many descriptions it takes at once."""
    earlier = paper(900, "Tiny Students of Speech Teachers", "A student model distils speech.")
    answered = with_answers(ranker, Profile(3, keywords=("student",), limit=6), no=GENERIC[:2])
    profiles = [
        with_answers(ranker, Profile(1, description=VAGUE, limit=12), yes=DISTILLATION[:2]),
        Profile(2, keywords=("neural networks", "-speech"), limit=5),
        replace(answered, liked=(DISTILLATION[3], earlier)),
        Profile(4, description="teachers and students", categories=("cs.LG",), limit=10),
        with_answers(ranker, Profile(5, description=VAGUE, limit=8), no=GENERIC[2:4]),
        Profile(6, keywords=("teacher",), liked=(earlier,), limit=4),
    ]

    def picks(result: dict[int, list[Pick]]) -> dict[int, list[Pick]]:
        return {
            s: sorted(found, key=lambda p: (-p.score, p.paper_id)) for s, found in result.items()
        }

    together = Ranker.fit(DAY).rank(profiles, chunk_size=2)
    apart: dict[int, list[Pick]] = {}
    one_worker: dict[int, list[Pick]] = {}
    worker = Ranker.fit(DAY)  # fitted once, as a worker keeps it for every chunk it takes
    for share in (profiles[:3], profiles[3:], profiles[1:4]):
        apart.update(Ranker.fit(DAY).rank(share, chunk_size=2))
        one_worker.update(worker.rank(share, chunk_size=2))
    assert picks(apart) == picks(together)
    assert one_worker == apart
    assert all(together[p.subscriber_id] for p in profiles)
