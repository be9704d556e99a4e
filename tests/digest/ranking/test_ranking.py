"""The personal ranking, rule by rule: pure functions over dataclasses, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from digest.ranking.profiles import compile_profiles
from digest.ranking.ranker import Ranker, rank
from digest.ranking.scoring import rank_compiled
from digest.ranking.text import TextConfig
from digest.ranking.types import RELEVANCE_FLOOR, PaperDoc, Pick, Profile, relevance_floor

TODAY = date(2026, 11, 20)


def paper(pid: int, title: str, abstract: str = "", **fields) -> PaperDoc:
    fields.setdefault("announced_on", TODAY)
    return PaperDoc(id=pid, arxiv_id=f"2611.{pid:05d}", title=title, abstract=abstract, **fields)


# A small day: a few topics, each with some neighbours, so the text model has contrast.
POOL = [
    paper(
        1,
        "Knowledge Distillation for Small Language Models",
        "We distil a large teacher language model into a compact student model.",
        categories=("cs.CL",),
        upvotes=48,
    ),
    paper(
        2,
        "A Fast URL Parser for Web Crawlers",
        "Parsing URLs and hyperlinks quickly for large web crawls.",
        categories=("cs.NI",),
    ),
    paper(
        3,
        "Offline RL with Sequence Models",
        "Offline reinforcement learning from logged trajectories using transformers.",
        categories=("cs.LG",),
    ),
    paper(
        4,
        "Diffusion Models for Image Synthesis",
        "Denoising diffusion probabilistic models generate high fidelity images.",
        categories=("cs.CV",),
    ),
    paper(
        5,
        "A Survey of Knowledge Distillation",
        "We review distillation methods for compressing neural networks.",
        categories=("cs.LG",),
    ),
    paper(
        6,
        "Protein Structure Prediction with Graph Networks",
        "Graph neural networks predict protein folding and residue contacts.",
        categories=("q-bio.BM",),
    ),
    paper(
        7,
        "Robotic Grasping from Human Videos",
        "Robots learn manipulation and grasping skills by watching humans.",
        categories=("cs.RO",),
    ),
    paper(
        8,
        "Speech Recognition for Low-Resource Languages",
        "Automatic speech recognition with little transcribed audio.",
        categories=("cs.CL",),
    ),
    paper(
        9,
        "Scaling Laws for Mixture-of-Experts",
        "How sparse expert models scale with compute and data.",
        categories=("cs.LG",),
    ),
    paper(
        10,
        "Large Language Model Agents for Tool Use",
        "Agents built on a large language model call external tools and APIs.",
        categories=("cs.AI",),
    ),
]


def ids(picks: list[Pick]) -> list[int]:
    return [p.paper_id for p in picks]


def picks_for(profile: Profile, papers=POOL) -> list[Pick]:
    return rank(papers, [profile])[profile.subscriber_id]


# Keywords and phrases


def test_a_keyword_matches_on_word_boundaries_only():
    picks = picks_for(Profile(1, keywords=("RL",)))
    assert ids(picks) == [3]  # "URL" and "URLs" in paper 2 are not "RL"


def test_a_keyword_matches_regardless_of_case_and_simple_plurals():
    assert 2 in ids(picks_for(Profile(1, keywords=("urls",))))
    assert 2 in ids(picks_for(Profile(1, keywords=("url",))))
    assert 4 in ids(picks_for(Profile(1, keywords=("Diffusion Model",))))  # text says "Models"
    assert 6 in ids(picks_for(Profile(1, keywords=("PROTEIN",))))


def test_a_phrase_matches_only_as_a_phrase():
    picks = picks_for(Profile(1, keywords=('"large language model"',)))
    assert ids(picks) == [10]  # paper 1 has "large teacher language model", not the phrase


def test_a_multi_word_keyword_without_quotes_is_a_phrase_too():
    assert ids(picks_for(Profile(1, keywords=("speech recognition",)))) == [8]


def test_hyphens_are_word_boundaries_in_papers_and_keywords():
    assert ids(picks_for(Profile(1, keywords=("mixture of experts",)))) == [9]
    assert ids(picks_for(Profile(1, keywords=("low-resource",)))) == [8]


def test_a_minus_keyword_excludes_papers_that_match_it():
    picks = picks_for(Profile(1, keywords=("distillation", "-survey")))
    assert ids(picks) == [1]


def test_an_exclusion_beats_every_other_match():
    profile = Profile(1, categories=("cs.LG",), keywords=("-survey",), authors=("Ada Lovelace",))
    papers = [replace(POOL[4], authors=("Ada Lovelace",)), POOL[2]]
    assert ids(picks_for(profile, papers)) == [3]


def test_a_title_match_ranks_above_an_abstract_only_match():
    papers = [
        paper(1, "Robust training", "We study pruning for speed."),
        paper(2, "Pruning neural networks", "A study of robustness."),
    ]
    assert ids(picks_for(Profile(1, keywords=("pruning",)), papers)) == [2, 1]


# Categories and authors


def test_a_category_matches_exactly_or_by_archive():
    assert set(ids(picks_for(Profile(1, categories=("cs.CL",))))) == {1, 8}
    everything_cs = set(ids(picks_for(Profile(1, categories=("cs",), limit=50))))
    assert everything_cs == {1, 2, 3, 4, 5, 7, 8, 9, 10}


@pytest.mark.parametrize(
    "followed", ["J. Smith", "John Smith", "Smith, John", "john smith", "Smith, J.", "J Smith"]
)
def test_a_followed_author_matches_with_initials_order_and_case(followed):
    papers = [paper(1, "Something", "Text.", authors=("John Smith", "Ada Lovelace"))]
    picks = picks_for(Profile(1, authors=(followed,)), papers)
    assert ids(picks) == [1]
    assert picks[0].reason.startswith(f"by {followed}")


def test_author_names_match_without_accents():
    papers = [paper(1, "Un article", "Texte.", authors=("Éric Müller-Lüdenscheidt",))]
    assert ids(picks_for(Profile(1, authors=("Eric Muller-Ludenscheidt",)), papers)) == [1]
    assert ids(picks_for(Profile(1, authors=("É. Müller-Lüdenscheidt",)), papers)) == [1]


def test_a_full_first_name_does_not_match_a_different_first_name():
    papers = [paper(1, "Something", "Text.", authors=("Jane Smith",))]
    assert picks_for(Profile(1, authors=("John Smith",)), papers) == []
    assert ids(picks_for(Profile(1, authors=("J. Smith",)), papers)) == [1]


# Description


def test_a_description_alone_finds_papers_in_other_words():
    profile = Profile(1, description="teaching robot arms to pick up objects by watching people")
    picks = picks_for(profile)
    assert ids(picks)[:1] == [7]
    assert picks[0].reason.startswith("similar to your description")


def test_a_description_does_not_drag_in_unrelated_papers():
    profile = Profile(1, description="folding proteins and predicting residue contacts")
    assert ids(picks_for(profile)) == [6]


def _a_busy_day() -> list[PaperDoc]:
    """150 papers: 130 on unrelated made-up topics, 19 on adapters, 1 on LoRA for speech."""
    fillers = [
        paper(
            200 + i,
            f"Studies of zorb{i} and quix{i % 13}",
            f"We measure zorb{i} flux in quix{i % 13} systems.",
        )
        for i in range(130)
    ]
    adapters = [
        paper(
            400 + i,
            f"LoRA adapters on a frozen pretrained network, part {i}",
            "We keep the pretrained network frozen and train only small LoRA adapters.",
        )
        for i in range(19)
    ]
    speech = paper(
        999, "Low-rank LoRA adapters for speech", "LoRA adapters match full fine-tuning."
    )
    return [*fillers, *adapters, speech]


def test_a_description_is_expanded_with_the_words_of_its_best_matches():
    # The description never says LoRA or adapter; the papers it matches best do, so the
    # expanded description also finds the paper that says nothing else it uses.
    profile = Profile(
        1, description="training a tiny add-on while the pretrained network stays frozen", limit=30
    )
    day = _a_busy_day()
    # The encoder finds this title far from the description in meaning (digest.ranking.semantic), so
    # its title check would hide the expansion's effect: words alone decide here.
    words = TextConfig(semantic_gate=0.0)
    assert 999 in ids(Ranker.fit(day, text=words).rank([profile])[1])
    plain = Ranker.fit(day, text=words.without_prf()).rank([profile])[1]
    assert 999 not in ids(plain)


def test_a_small_pool_leaves_a_description_unexpanded():
    ranker = Ranker.fit(POOL)
    queries = ranker.text.transform(["folding proteins"])
    assert (ranker.text.expand(queries) != queries).nnz == 0


# Trending


def test_a_hot_matching_paper_rises_above_a_cold_matching_one():
    cold = paper(1, "Pruning transformers", "Pruning.", upvotes=0)
    hot = paper(2, "Pruning transformers quickly", "Pruning.", upvotes=250, upvote_growth=80)
    assert ids(picks_for(Profile(1, keywords=("pruning",)), [cold, hot])) == [2, 1]


def test_a_hot_paper_that_does_not_match_never_appears():
    hot = paper(99, "Everyone is talking about this", "Viral.", upvotes=5000, upvote_growth=900)
    picks = picks_for(Profile(1, keywords=("distillation",)), [*POOL, hot])
    assert 99 not in ids(picks)
    assert ids(picks) == [1, 5]


def test_trending_never_lifts_a_paper_above_a_stronger_match():
    weak = paper(1, "Some method", "Uses pruning once.", upvotes=9999, upvote_growth=999)
    strong = paper(2, "Pruning and quantisation", "Pruning and quantisation.", upvotes=0)
    profile = Profile(1, keywords=("pruning", "quantisation"))
    assert ids(picks_for(profile, [weak, strong])) == [2, 1]


def test_a_fresher_paper_ranks_above_an_older_equal_one():
    old = paper(1, "Pruning", "Pruning.", announced_on=date(2026, 11, 14))
    new = paper(2, "Pruning", "Pruning.", announced_on=TODAY)
    assert ids(picks_for(Profile(1, keywords=("pruning",)), [old, new])) == [2, 1]


# Never twice, limit, floor


def test_a_paper_already_sent_is_never_picked_again():
    profile = Profile(1, keywords=("distillation",), already_sent=frozenset({1, 12345}))
    assert ids(picks_for(profile)) == [5]


def test_the_limit_holds():
    assert len(picks_for(Profile(1, categories=("cs",), limit=3))) == 3
    assert picks_for(Profile(1, categories=("cs",), limit=0)) == []


# A fuller day, so that common words ("neural networks", "models") are common, as on a real day.
FILLER_TOPICS = [
    "weather forecasting",
    "chess engines",
    "traffic prediction",
    "music tagging",
    "crop yield estimation",
    "fraud detection",
    "code completion",
    "molecule generation",
    "earthquake detection",
    "legal document search",
    "sign language",
    "battery health",
    "wildfire mapping",
    "stock volatility",
    "handwriting recognition",
    "poetry generation",
    "satellite imagery",
    "table understanding",
    "medical triage",
    "sports analytics",
]
FILLERS = [
    paper(
        100 + i,
        f"Neural networks for {topic}",
        f"We train neural network models for {topic} and report results on benchmarks.",
    )
    for i, topic in enumerate(FILLER_TOPICS)
]


def test_a_weak_match_stays_below_the_floor():
    assert relevance_floor == RELEVANCE_FLOOR > 0
    # Papers share only the everyday words "neural", "network", "models" with it: not enough.
    profile = Profile(1, description="quantum error correction with neural network decoders")
    assert picks_for(profile, POOL + FILLERS) == []
    # The same day still answers a description that does match.
    profile = Profile(2, description="predicting how proteins fold")
    assert ids(picks_for(profile, POOL + FILLERS)) == [6]


def test_a_quiet_day_gives_an_empty_list():
    assert rank(POOL, [Profile(7, keywords=("quantum chromodynamics",))]) == {7: []}
    assert rank([], [Profile(7, keywords=("anything",))]) == {7: []}


def test_a_raised_floor_keeps_category_only_matches_out():
    ranker = Ranker.fit(POOL, floor=0.9)
    picks = ranker.rank([Profile(1, categories=("cs.CL",), keywords=("speech",))])[1]
    assert ids(picks) == [8]


# Reasons and scores


def test_the_reason_names_the_keyword_the_category_and_the_upvotes():
    picks = picks_for(Profile(1, categories=("cs.CL",), keywords=("distillation",)))
    assert picks[0] == Pick(1, picks[0].score, "matches 'distillation' · cs.CL · 48 upvotes")


def test_shared_reasons_read_as_each_subscriber_own():
    """Subscribers with keywords and categories only share each paper's reason: it must read
    as the one worked out for a subscriber who also follows an author on none of the papers."""
    interests = [{"categories": ("cs.CL",)}, {"categories": ("cs",), "keywords": ("speech",)}]
    profiles = [Profile(i, limit=20, **kw) for i, kw in enumerate(interests, start=1)]
    profiles += [
        Profile(i + 10, limit=20, authors=("Nobody Here",), **kw)
        for i, kw in enumerate(interests, start=1)
    ]
    picks = Ranker.fit(POOL).rank(profiles)
    for i in (1, 2):
        assert picks[i] and picks[i] == picks[i + 10]
    assert {p.reason for p in picks[1]} >= {"cs.CL · 48 upvotes"}


def test_the_reason_says_by_whom():
    papers = [paper(1, "Something", "Text.", authors=("Jane Doe",), upvotes=1)]
    assert (
        picks_for(Profile(1, authors=("Jane Doe",)), papers)[0].reason == "by Jane Doe · 1 upvote"
    )


def test_scores_are_best_first():
    picks = picks_for(Profile(1, categories=("cs",), keywords=("language model",), limit=20))
    assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)


# Feedback


def _pool_with_two_agent_papers() -> list[PaperDoc]:
    return [
        *POOL,
        paper(
            11,
            "Tool-Using Agents Plan with Language Models",
            "Agents call tools and plan multi-step tasks.",
            categories=("cs.AI",),
        ),
        paper(
            12,
            "Reward Models for Dialogue",
            "Reward modelling of dialogue responses for assistants.",
            categories=("cs.AI",),
        ),
    ]


def test_more_like_this_lifts_a_similar_paper():
    papers = _pool_with_two_agent_papers()
    before = ids(picks_for(Profile(1, categories=("cs.AI",)), papers))
    liked = paper(500, "Language Agents that Use Tools", "An agent plans and calls APIs and tools.")
    after = ids(picks_for(Profile(1, categories=("cs.AI",), liked=(liked,)), papers))
    assert before.index(11) > before.index(12) or before.index(11) > 0 or before == after
    assert after.index(11) < after.index(12)
    assert after.index(11) <= before.index(11)


def test_fewer_like_this_drops_a_similar_paper():
    papers = _pool_with_two_agent_papers()
    disliked = paper(501, "Tool Agents", "Agents that call tools and APIs to plan tasks.")
    profile = Profile(1, categories=("cs.AI",))
    before = picks_for(profile, papers)
    after = picks_for(replace(profile, disliked=(disliked,)), papers)
    assert {11, 10} <= set(ids(before))
    assert ids(after) == [12]


def test_feedback_alone_is_a_profile():
    liked = paper(502, "Speech recognition at scale", "Recognising speech in many languages.")
    picks = picks_for(Profile(1, liked=(liked,)))
    assert ids(picks)[:1] == [8]
    assert "like 'Speech recognition at scale', which you liked" in picks[0].reason


def test_reasons_name_each_calls_own_liked_papers_when_calls_interleave():
    # Threads of a web process share one Ranker: one call's liked papers must not leak
    # into the reasons of another compiled meanwhile.
    speech = (
        paper(604, "Speech recognition at scale", "Recognising speech in many languages."),
        paper(605, "Listening to many speakers", "Speech recognition of overlapping voices."),
    )
    other = (
        paper(606, "Protein folding", "Predicting protein structures."),
        paper(607, "Galaxy surveys", "Mapping galaxies in the sky."),
    )
    alice, bob = Profile(1, liked=speech), Profile(2, liked=other)
    ranker = Ranker.fit(POOL)
    alone = rank_compiled(ranker, compile_profiles(ranker, [alice]), chunk_size=64)
    for_alice = compile_profiles(ranker, [alice])
    compile_profiles(ranker, [bob])  # another call, compiled before alice's is ranked
    interleaved = rank_compiled(ranker, for_alice, chunk_size=64)
    assert "which you liked" in alone[1][0].reason
    assert [p.reason for p in interleaved[1]] == [p.reason for p in alone[1]]


# Many subscribers at once


def test_many_profiles_are_ranked_together_like_one_by_one():
    profiles = [
        Profile(1, keywords=("RL",)),
        Profile(2, categories=("cs.CL",), keywords=("-speech",)),
        Profile(3, description="image generation with denoising"),
        Profile(4, authors=("Nobody Known",)),
        Profile(5, keywords=("distillation",), already_sent=frozenset({1})),
    ]
    together = Ranker.fit(POOL).rank(profiles, chunk_size=2)
    assert together == {p.subscriber_id: picks_for(p) for p in profiles}
    assert ids(together[2]) == [1]
    assert together[4] == []


def test_feedback_reorders_papers_that_match_the_same_keyword():
    web = paper(
        21, "Agents for web browsing", "Agents navigate websites and fill in browser forms."
    )
    lab = paper(22, "Agents for chemistry", "Agents plan chemical synthesis in wet laboratories.")
    papers = [web, lab, *FILLERS]
    profile = Profile(1, keywords=("agents",))
    chemistry = paper(
        503, "Planning chemical synthesis", "Robotic chemical synthesis in laboratories."
    )
    assert ids(picks_for(replace(profile, liked=(chemistry,)), papers)) == [22, 21]
    assert ids(picks_for(replace(profile, disliked=(chemistry,)), papers)) == [21]
    picks = picks_for(replace(profile, liked=(chemistry,)), papers)
    assert (
        picks[0].reason == "matches 'agents' · like 'Planning chemical synthesis', which you liked"
    )


def test_papers_tied_at_a_digests_last_place_are_cut_in_paper_order_however_it_is_batched():
    # Thirty papers score exactly alike for "distillation", in no particular order of ids.
    tied = [
        paper(500 + (7 * i) % 30, f"Distillation study {i}", "We study knowledge distillation.")
        for i in range(30)
    ]
    ranker = Ranker.fit([*FILLERS, *tied])
    five = Profile(1, keywords=("distillation",), limit=5)
    twenty = Profile(2, keywords=("distillation",), limit=20)
    alone = ranker.rank([five])[1]  # as the preview ranks it
    among_others = ranker.rank([five, twenty])[1]  # as a send worker does
    assert len({p.score for p in alone}) == 1
    assert ids(alone) == ids(among_others) == [p.id for p in tied[:5]]
