"""A gist is read alone on its card, so it must not lean on the sentences around it.

Real abstracts from the bundled snapshot (digest/snapshot/), read by the real parsers.
"""

from functools import cache

import pytest

from digest.delivery import display
from digest.delivery.gists import choose_gist, sentences
from digest.delivery.standalone import leans_on_context, opens_dependently, standing_alone
from digest.ingest.pipeline import SNAPSHOT_DIR, SNAPSHOT_FILES
from digest.sources.registry import get_adapter
from digest.sources.text import readable
from tests.factories import make_paper


@cache
def snapshot() -> dict[str, str]:
    """The snapshot's abstracts by title, cleaned as ingestion cleans them."""
    papers = {}
    for name, kind in SNAPSHOT_FILES:
        for record in get_adapter(kind).parse((SNAPSHOT_DIR / name).read_bytes()):
            papers[readable(record.title)] = readable(record.abstract or "")
    return papers


def paper(title_start: str) -> tuple[str, str]:
    [title] = [title for title in snapshot() if title.startswith(title_start)]
    return title, snapshot()[title]


@pytest.mark.parametrize(
    ("title_start", "opening", "gist_start"),
    [
        ("MHSNet:", "To this end, ", "We propose MHSNet, an multi-level identity"),
        ("Overcoming Latency", "To address this issue, ", "We propose a simultaneous translation"),
        ("MM-BrowseComp", "To bridge this gap, ", "We introduce MM-BrowseComp, a novel benchmark"),
        ("MIRAGE:", "Building on this benchmark, ", "We propose Mirage-R1, a vision-language"),
        ("Revisiting RAG Ensemble", "From the theoretical analysis, ", "We provide the first"),
        ("Uncertainty-Aware Learning", "Thus, ", "This study suggests an Uncertainty-Aware"),
        ("ViTAD:", "To automate this process, ", "This paper proposes ViTAD, a method"),
        ("CardAIc-Agents", "In response, ", "A multimodal framework, CardAIc-Agents, was"),
        ("Can Knowledge Editing", "First, ", "We rigorously construct a massive hallucination"),
    ],
)
def test_a_contribution_sentence_that_points_back_is_shown_without_its_opening(
    title_start, opening, gist_start
):
    title, abstract = paper(title_start)

    gist = choose_gist(title, abstract)

    assert gist.startswith(gist_start)
    # Only the opening went, and the capital it left: the rest is the abstract's own words.
    assert opening + gist[0].lower() + gist[1:] in sentences(abstract)
    assert not leans_on_context(gist)


def test_a_sentence_about_the_one_before_gives_way_to_one_that_stands_alone():
    title, abstract = paper("Goal-Directedness is in the Eye")
    leaning = next(s for s in sentences(abstract) if s.startswith("The former proposes"))
    assert standing_alone(leaning) is None  # "the former" has no sentence to cut it to

    gist = choose_gist(title, abstract)

    assert gist == (
        "We arrive at the perhaps surprising position that goal-directedness cannot be "
        "measured objectively."
    )


@pytest.mark.parametrize(
    ("title_start", "sentence_start"),
    [
        ("HiFo-Prompt", "However, its effectiveness is hindered"),
        ("HiFo-Prompt", "This dual mechanism transforms"),
        ("Expertise-aware Multi-LLM", "It operates in two stages"),
        ("Toward Better EHR Reasoning", "These results demonstrate"),
        ("MHSNet:", "Such duplication detection is challenging"),
        ("Using Artificial Intuition", "Moreover, such schemes may generate labels"),
    ],
)
def test_a_sentence_that_leans_on_its_neighbours_is_not_reworded_into_a_new_claim(
    title_start, sentence_start
):
    _, abstract = paper(title_start)
    sentence = next(s for s in sentences(abstract) if s.startswith(sentence_start))

    assert opens_dependently(sentence)
    assert standing_alone(sentence) is None


@pytest.mark.parametrize(
    ("title_start", "sentence_start"),
    [
        ("Contextual Attention-Based", "This paper introduces a novel approach"),
        ("A Hardware-oriented Approach", "This work presents a methodology"),
        ("The Rise of Generative AI", "This Perspective introduces the shift"),
        ("QuickMerge++", "In this paper, we propose QuickMerge"),
        ("Quantifier Instantiations", "This paper introduces a novel instantiation"),
    ],
)
def test_a_sentence_that_names_its_own_subject_stands_as_it_is(title_start, sentence_start):
    _, abstract = paper(title_start)
    sentence = next(s for s in sentences(abstract) if s.startswith(sentence_start))

    assert standing_alone(sentence) == sentence


@pytest.mark.django_db
def test_the_card_shows_the_cut_gist_and_does_not_repeat_its_sentence_below():
    title, abstract = paper("MHSNet:")
    # The abstract's last four sentences, so that the gist's sentence would be within
    # the two the card shows below the gist.
    tail = " ".join(sentences(abstract)[3:7])
    assert tail.startswith("Such duplication detection is challenging")

    card = display.paper_display(make_paper(title, tail))

    assert card["gist"].startswith("We propose MHSNet, an multi-level")
    assert card["abstract"].startswith("Such duplication detection is challenging")
    assert "propose MHSNet" not in card["abstract"]
