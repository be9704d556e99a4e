"""The glossary: plain-English glosses lead a description in everyday words to the field's
terms. Measured on the bundled snapshot's real day (87 papers of cs.AI, 1,565 candidate
terms), as a subscriber's reading and digest would show it."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from django.conf import settings

from digest.ranking import glossary
from digest.ranking.ranker import Ranker
from digest.ranking.reading import read_description
from digest.ranking.text import TextConfig, TextModel
from digest.ranking.types import PaperDoc, Profile
from digest.sources.arxiv_rss import ArxivRssAdapter
from tests.digest.ranking.test_ranking import POOL

SPEECH = "turning what people say out loud into written text"
SAFETY = "making a chatbot refuse harmful requests and behave the way people want"
WITHOUT = TextConfig(semantic_glossary=0.0)


@functools.cache
def snapshot_day() -> tuple[PaperDoc, ...]:
    feed = Path(settings.BASE_DIR) / "digest/snapshot/arxiv-rss-atom_cs.AI_2025-08-20.xml"
    records = ArxivRssAdapter().parse(feed.read_bytes())
    return tuple(
        PaperDoc(id=i, arxiv_id=r.arxiv_id, title=r.title, abstract=r.abstract)
        for i, r in enumerate(records, start=1)
    )


@functools.cache
def ranker(glossary_on: bool = True) -> Ranker:
    return Ranker.fit(snapshot_day(), text=TextConfig() if glossary_on else WITHOUT)


def read_as(description: str, *, glossary_on: bool = True, dropped=()) -> list[str]:
    reading = read_description(ranker(glossary_on), description, dropped=dropped)
    return [t.label for t in reading.terms]


def first_title(description: str, *, glossary_on: bool = True) -> str:
    picks = ranker(glossary_on).rank([Profile(1, description=description)])[1]
    return snapshot_day()[picks[0].paper_id - 1].title


def test_a_description_in_everyday_words_is_read_as_the_fields_terms():
    assert "speech recognition" in read_as(SPEECH)
    assert "asr" in read_as(SPEECH)
    assert "speech recognition" not in read_as(SPEECH, glossary_on=False)


def test_the_fields_terms_bring_the_paper_that_uses_them_to_the_top():
    # A paper on speech transcripts says "ASR", never "what people say out loud".
    transcripts = "Whispering Context: Distilling Syntax and Semantics for Long Speech Transcripts"
    assert first_title(SPEECH) == transcripts
    assert first_title(SPEECH, glossary_on=False) != transcripts


def test_dropping_a_term_drops_the_synonyms_its_glosses_would_bring_back():
    after = read_as(SPEECH, dropped=["speech recognition"])
    assert "speech recognition" not in after
    assert "asr" not in after  # the same entry's other name


def test_a_gloss_counts_only_for_the_concepts_a_text_is_closest_to(monkeypatch):
    # The day has no paper on refusals or jailbreaks; the glosses of other chatbot
    # concepts are close to the description too, and must not stand in for them.
    kv_cache = {"kv cache", "kv-cache"}  # the day's papers write it both ways
    assert kv_cache.isdisjoint(read_as(SAFETY))
    monkeypatch.setattr(glossary, "_MARGIN", 2.0)  # every gloss counts
    ranker.cache_clear()
    try:
        assert kv_cache & set(read_as(SAFETY))
    finally:
        ranker.cache_clear()


def test_a_day_of_a_few_dozen_papers_reads_descriptions_without_the_glossary():
    # The spread of a hundred terms says too little to put a gloss on their scale.
    description = "knowledge distillation and speech recognition"
    with_glossary = read_description(Ranker.fit(POOL), description)
    without = read_description(Ranker.fit(POOL, text=WITHOUT), description)
    assert with_glossary == without


@pytest.mark.parametrize(
    ("term", "features"),
    [
        ("knowledge distillation", {"knowledge distillation"}),
        ("pre-training", {"pre training", "pretraining"}),
        ("LLMs", {"llm"}),
        ("large language model", {"large language", "language model"}),
    ],
)
def test_a_glossary_term_names_the_features_the_day_has_for_it(term, features):
    analyze = TextModel().vectorizer.build_analyzer()
    assert glossary.term_features(term, analyze) == features


def test_a_part_of_a_longer_name_is_left_out_as_broader_than_the_concept():
    entry = glossary.Entry(("computer vision", "vision", "CV"), ("software that sees",))
    analyze = TextModel().vectorizer.build_analyzer()
    assert glossary.entry_features(entry, analyze) == {"computer vision", "cv"}


def test_every_entry_has_terms_and_glosses_that_do_not_repeat_across_entries():
    entries = glossary.entries()
    assert len(entries) >= 500
    assert all(entry.terms and entry.glosses for entry in entries)
    glosses = [g for entry in entries for g in entry.glosses]
    assert len(glosses) == len(set(glosses))


@pytest.mark.parametrize(
    "content",
    ['[{"terms": ["asr"], "glosses": ["turning speech into text"]', '[{"terms": "asr"}]', ""],
)
def test_an_unreadable_glossary_leaves_descriptions_read_as_before_with_one_warning(
    tmp_path, monkeypatch, caplog, content
):
    broken = tmp_path / "glossary.json"
    broken.write_text(content)
    monkeypatch.setattr(glossary, "GLOSSARY_PATH", broken)
    glossary.entries.cache_clear()
    try:
        day = snapshot_day()
        assert read_description(Ranker.fit(day), SPEECH) == read_description(
            Ranker.fit(day, text=WITHOUT), SPEECH
        )
        assert read_description(Ranker.fit(day), SPEECH).terms  # still read, by meaning
        warnings = [r for r in caplog.records if "glossary" in r.getMessage()]
        assert len(warnings) == 1 and str(broken) in warnings[0].getMessage()
    finally:
        glossary.entries.cache_clear()


# Topics: the glossary's entries offered to follow beside the reading.
THEORY = "proving with mathematics when and why training on examples works"


def topic_names(description: str) -> list[str]:
    encoder = ranker().text.encoder()
    return [t.name for t in glossary.topics_for(encoder.encode([description])[0], encoder)]


def test_a_description_in_everyday_words_is_offered_the_fields_names_for_it():
    assert "learning theory" in topic_names(THEORY)
    assert "speech recognition" in topic_names(SPEECH)
    assert len(topic_names(SPEECH)) == glossary.TOPICS


def test_a_topic_shows_the_gloss_closest_to_the_description():
    encoder = ranker().text.encoder()
    topics = glossary.topics_for(encoder.encode([THEORY])[0], encoder)
    theory = next(t for t in topics if t.name == "learning theory")
    entry = next(e for e in glossary.entries() if e.terms[0] == "learning theory")
    assert theory.gloss in entry.glosses


def test_following_a_topic_adds_its_names_but_not_a_single_word_inside_a_longer_one():
    entry = glossary.Entry(
        (
            "scaling laws",
            "scaling law",
            "scaling",
            "compute-optimal",
            "computeoptimal",
            "chinchilla",
        ),
        ("how AI improves as it grows",),
    )
    assert glossary.topic_keywords(entry) == ("scaling laws", "compute-optimal", "chinchilla")


def test_a_topic_is_found_by_its_name_as_the_follow_button_sends_it():
    topic = glossary.topic_named("learning theory")
    assert topic is not None and "pac learning" in topic.keywords
    assert glossary.topic_named("no such topic") is None


def test_an_unreadable_glossary_offers_no_topics_and_no_topic_to_follow(tmp_path, monkeypatch):
    broken = tmp_path / "glossary.json"
    broken.write_text("[")
    monkeypatch.setattr(glossary, "GLOSSARY_PATH", broken)
    glossary.entries.cache_clear()
    try:
        assert topic_names(THEORY) == []
        assert glossary.topic_named("learning theory") is None
    finally:
        monkeypatch.undo()
        glossary.entries.cache_clear()
    assert "learning theory" in topic_names(THEORY)  # read again once the file is back


def shared_topics(yes, no=(), shown=()) -> list[str]:
    day = {p.id: p for p in snapshot_day()}
    found = glossary.answer_topics(
        ranker().text, [day[i] for i in yes], [day[i] for i in no], shown=shown
    )
    return [t.name for t in found]


SPEECH_PAPERS = (78, 79)  # on-device speech translation; long speech transcripts (ASR)


def test_the_topics_two_yes_papers_share_are_offered():
    assert shared_topics(SPEECH_PAPERS) == ["speech recognition"]
    assert shared_topics(SPEECH_PAPERS[:1]) == []  # one paper says too little


def test_a_topic_a_no_paper_shares_or_already_shown_is_not_offered():
    robot = 75  # a robot that listens: its abstract says "speech recognition" too
    assert shared_topics(SPEECH_PAPERS, no=[robot]) == []
    assert shared_topics(SPEECH_PAPERS, shown=["speech recognition"]) == []


def test_a_topic_is_held_where_a_phrase_of_it_stands_whole_not_one_of_its_words():
    model = ranker().text
    entries = glossary.entries()
    holders, _ = glossary._holders(model, entries)
    speech = entries.index(next(e for e in entries if e.terms[0] == "speech recognition"))

    def holds(text: str) -> bool:
        return bool(glossary._holding(holders, model.transform([model.document(text, "")]))[speech])

    assert holds("Speech recognition for meetings") and holds("ASR at the edge")
    assert not holds("Speech and text together")  # "speech-to-text" is not its words apart


def test_a_description_in_the_fields_own_words_is_offered_that_topic_first():
    assert topic_names("speech recognition")[0] == "speech recognition"
    assert topic_names("knowledge distillation and speech recognition")[:1] == [
        "knowledge distillation"
    ]
