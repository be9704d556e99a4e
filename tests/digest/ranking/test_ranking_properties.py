"""Invariants of the ranking over generated days and subscribers."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from digest.ranking.ranker import Ranker
from digest.ranking.types import PaperDoc, Profile

WORDS = [
    "distillation", "diffusion", "retrieval", "robot", "speech", "graph", "protein",
    "pruning", "agents", "alignment", "vision", "language", "tokenizer", "memory",
]  # fmt: skip
TODAY = date(2026, 11, 20)

papers_strategy = st.lists(
    st.tuples(
        st.lists(st.sampled_from(WORDS), min_size=1, max_size=4),
        st.lists(st.sampled_from(WORDS), min_size=0, max_size=12),
        st.integers(0, 5000),
        st.integers(0, 500),
        st.integers(0, 6),
    ),
    min_size=1,
    max_size=25,
)
profile_strategy = st.tuples(
    st.lists(st.sampled_from(WORDS + ["-" + w for w in WORDS]), max_size=4),
    st.integers(0, 12),
    st.sets(st.integers(1, 25), max_size=8),
)


def build(raw_papers) -> list[PaperDoc]:
    return [
        PaperDoc(
            id=i + 1,
            arxiv_id=f"2611.{i + 1:05d}",
            title=" ".join(title),
            abstract=" ".join(abstract) + ".",
            upvotes=upvotes,
            upvote_growth=growth,
            announced_on=TODAY - timedelta(days=age),
        )
        for i, (title, abstract, upvotes, growth, age) in enumerate(raw_papers)
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(papers_strategy, st.lists(profile_strategy, min_size=1, max_size=6))
def test_keyword_digests_hold_every_rule_whatever_the_upvotes(raw_papers, raw_profiles):
    papers = build(raw_papers)
    by_id = {p.id: p for p in papers}
    profiles = [
        Profile(i + 1, keywords=tuple(kw), limit=limit, already_sent=frozenset(sent))
        for i, (kw, limit, sent) in enumerate(raw_profiles)
    ]
    result = Ranker.fit(papers).rank(profiles, chunk_size=4)
    assert set(result) == {p.subscriber_id for p in profiles}
    for profile in profiles:
        picks = result[profile.subscriber_id]
        wanted = {k for k in profile.keywords if not k.startswith("-")}
        unwanted = {k[1:] for k in profile.keywords if k.startswith("-")}
        assert len(picks) <= profile.limit
        assert len({p.paper_id for p in picks}) == len(picks)
        assert [p.score for p in picks] == sorted((p.score for p in picks), reverse=True)
        for pick in picks:
            words = set(f"{by_id[pick.paper_id].title} {by_id[pick.paper_id].abstract}".split())
            words = {w.strip(".") for w in words}
            assert pick.paper_id not in profile.already_sent
            assert words & wanted, "a paper that matches no keyword was picked"
            assert not words & unwanted, "an excluded paper was picked"
            assert pick.reason.startswith("matches ")
        # Every matching, allowed paper that was left out ranks below the last pick, or the
        # digest is full.
        eligible = [
            p
            for p in papers
            if p.id not in profile.already_sent
            and {w.strip(".") for w in f"{p.title} {p.abstract}".split()} & wanted
            and not {w.strip(".") for w in f"{p.title} {p.abstract}".split()} & unwanted
        ]
        assert len(picks) == min(profile.limit, len(eligible))


def test_a_fitted_ranker_ranks_the_same_twice_and_for_new_profiles():
    papers = build([(["robot", "grasping"], ["robot"], 5, 1, 0), (["speech"], [], 0, 0, 1)])
    ranker = Ranker.fit(papers)
    first = ranker.rank([Profile(1, keywords=("robot",))])
    assert ranker.rank([Profile(1, keywords=("robot",))]) == first
    assert [p.paper_id for p in ranker.rank([Profile(2, keywords=("speech",))])[2]] == [2]
