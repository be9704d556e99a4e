"""The reading of a description, and dropped terms: pure functions over dataclasses."""

from __future__ import annotations

from digest.ranking.dropping import dropped_columns, normalise_dropped
from digest.ranking.ranker import Ranker
from digest.ranking.reading import answer_terms, read_description
from digest.ranking.types import Profile
from tests.digest.ranking.test_glossary import ranker as snapshot_ranker
from tests.digest.ranking.test_glossary import snapshot_day
from tests.digest.ranking.test_ranking import POOL, ids, paper
from tests.digest.ranking.test_semantic import DAY, FOOLING

TWO_TOPICS = "knowledge distillation and speech recognition"


def labels(ranker: Ranker, description: str, dropped=()) -> list[str]:
    return [t.label for t in read_description(ranker, description, dropped=dropped).terms]


def picked(ranker: Ranker, description: str, dropped=()) -> list[int]:
    profile = Profile(1, description=description, dropped_terms=tuple(dropped))
    return ids(ranker.rank([profile])[1])


def test_the_reading_names_the_phrases_of_the_description_the_papers_use():
    reading = read_description(Ranker.fit(POOL), TWO_TOPICS)
    own = [t.label for t in reading.terms if t.own]
    assert own[:2] == ["speech recognition", "knowledge distillation"]
    # A word inside a phrase shown is part of it (dropping the phrase drops the word too).
    assert "speech" not in own and "distillation" not in own
    assert reading.matches == 3
    assert [t.weight for t in reading.terms] == sorted(
        (t.weight for t in reading.terms), reverse=True
    )


def test_the_reading_shows_the_terms_the_ranking_added_in_other_words():
    reading = read_description(Ranker.fit(DAY), FOOLING)
    assert [(t.label, t.own) for t in reading.terms][:2] == [
        ("adversarial", False),
        ("adversarial robustness", False),
    ]


def test_the_reading_names_the_categories_most_of_its_matches_share():
    speech = paper(20, "Distilling speech models", "Distillation for ASR.", categories=("cs.CL",))
    day = [*POOL, speech]
    reading = read_description(Ranker.fit(day), TWO_TOPICS)
    assert reading.categories == ("cs.CL",)  # three of the four matches are cs.CL papers


def test_the_reading_is_the_same_every_time():
    ranker = Ranker.fit(POOL)
    assert read_description(ranker, TWO_TOPICS) == read_description(Ranker.fit(POOL), TWO_TOPICS)


def test_a_dropped_term_is_no_longer_in_the_reading():
    ranker = Ranker.fit(POOL)
    assert "speech recognition" not in labels(ranker, TWO_TOPICS, ["Speech Recognition"])
    assert labels(ranker, TWO_TOPICS, ["speech recognition"])[0] == "knowledge distillation"


def test_dropping_a_term_drops_the_paper_matched_only_through_it_and_restoring_brings_it_back():
    ranker = Ranker.fit(POOL)
    assert 8 in picked(ranker, TWO_TOPICS)  # "Speech Recognition for Low-Resource Languages"
    after = picked(ranker, TWO_TOPICS, ["speech recognition"])
    assert 8 not in after
    assert {1, 5} <= set(after)  # the distillation papers still count
    assert picked(ranker, TWO_TOPICS, []) == picked(ranker, TWO_TOPICS)


def test_dropping_a_term_the_expansion_added_drops_what_only_it_found():
    # The description never says "adversarial": the nearest terms in meaning add it.
    ranker = Ranker.fit(DAY)
    assert sorted(picked(ranker, FOOLING)[:2]) == [40, 41]
    assert picked(ranker, FOOLING, ["adversarial"]) == []


def test_subscribers_with_and_without_drops_are_ranked_together_like_one_by_one():
    ranker = Ranker.fit(POOL)
    together = ranker.rank(
        [
            Profile(1, description=TWO_TOPICS),
            Profile(2, description=TWO_TOPICS, dropped_terms=("speech recognition",)),
        ]
    )
    assert ids(together[1]) == picked(ranker, TWO_TOPICS)
    assert ids(together[2]) == picked(ranker, TWO_TOPICS, ["speech recognition"])


def test_a_dropped_word_takes_its_phrases_and_a_dropped_phrase_its_words():
    model = Ranker.fit(POOL).text
    names = model.vectorizer.get_feature_names_out()

    def dropped(term: str) -> set[str]:
        return {str(names[c]) for c in dropped_columns(model, [term])}

    assert {"speech", "speech recognition", "automatic speech"} <= dropped("speech")
    assert "recognition" not in dropped("speech")
    assert dropped("speech recognition") == {"speech", "recognition", "speech recognition"}
    assert dropped("Low-Resource") >= {"low", "resource", "low resource", "lowresource"}


def test_dropped_terms_are_folded_and_sorted_so_equal_drops_share_a_query():
    assert normalise_dropped(["Speech  recognition", "adapters", "speech recognition", " "]) == (
        "adapters",
        "speech recognition",
    )


# What the "yes" papers share, on the bundled snapshot's real day (87 papers of cs.AI).
SPEECH_PAPERS = (78, 79)  # on-device speech translation; long speech transcripts
GRAPH_PAPERS = (26, 28)  # query answering and completion on knowledge graphs


def shared(yes, no=(), shown=()) -> list[str]:
    day = {p.id: p for p in snapshot_day()}
    found = answer_terms(
        snapshot_ranker(), [day[i] for i in yes], [day[i] for i in no], shown=shown
    )
    return [t.label for t in found]


def test_two_yes_papers_are_read_as_the_terms_they_share():
    assert shared(SPEECH_PAPERS)[:2] == ["asr", "speech"]
    assert "transcription" in shared(SPEECH_PAPERS)
    assert shared(GRAPH_PAPERS)[0] == "knowledge graph"


def test_one_yes_paper_says_too_little_to_name_terms():
    assert shared(SPEECH_PAPERS[:1]) == []


def test_words_most_papers_use_are_not_offered_as_keywords():
    day = snapshot_day()
    common = {"model", "language", "propose", "method", "result", "large"}
    assert all(sum(w in (p.title + p.abstract).lower() for p in day) > 8 for w in common)
    assert common.isdisjoint(shared(SPEECH_PAPERS)) and common.isdisjoint(shared(GRAPH_PAPERS))


def test_a_term_the_no_papers_share_is_not_offered():
    # "incomplete" is in both graph papers and in paper 29, answered "not for me".
    assert "incomplete" in shared(GRAPH_PAPERS)
    assert "incomplete" not in shared(GRAPH_PAPERS, no=[29])
    assert shared(GRAPH_PAPERS, no=[29])[0] == "knowledge graph"


def test_terms_already_on_the_page_are_left_out_with_the_phrases_holding_them():
    assert "speech" not in shared(SPEECH_PAPERS, shown=["Speech"])
    assert "asr" in shared(SPEECH_PAPERS, shown=["Speech"])
    assert "knowledge graph" not in shared(GRAPH_PAPERS, shown=["knowledge"])


ZERO_SHOT = [
    paper(30, "Zero-shot segmentation of cells", "A zero-shot model segments unseen cells."),
    paper(31, "Zero-shot audio tagging", "Tagging sounds zero-shot, with no labelled clips."),
    paper(32, "Zero-shot retrieval of recipes", "Recipes found zero-shot from a photo."),
]


def test_a_term_offered_to_keep_is_written_as_the_papers_write_it():
    # The text model joins "zero-shot" into one feature, "zeroshot"; as a keyword that
    # spelling would match no paper, the papers' own spelling matches all three.
    ranker = Ranker.fit([*POOL, *ZERO_SHOT])
    offered = [t.label for t in answer_terms(ranker, ZERO_SHOT)]
    assert "zero-shot" in offered and not {"zeroshot", "zero shot"} & set(offered)
    keyword = Profile(1, keywords=("zero-shot",))
    assert set(ids(ranker.rank([keyword])[1])) == {30, 31, 32}
    assert ids(ranker.rank([Profile(1, keywords=("zeroshot",))])[1]) == []


def test_every_term_the_reading_offers_matches_papers_when_kept_as_a_keyword():
    ranker = snapshot_ranker()
    for description in (
        "speech recognition for low-resource languages",
        "models that generalize to new tasks without examples",
    ):
        for label in labels(ranker, description):
            kept = Profile(1, keywords=(label,))
            assert ranker.rank([kept])[1], f"{label!r} from {description!r} matches nothing"
