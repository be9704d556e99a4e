"""Who gets what: trending for empty profiles, and one text-model fit per pool."""

from dataclasses import replace
from datetime import date

import pytest

from digest.ranking import picking
from digest.ranking.ranker import Ranker
from digest.ranking.types import PaperDoc, Profile

DAY = date(2026, 11, 23)
POOL = [
    PaperDoc(
        1,
        "2511.00001",
        "Knowledge distillation for small models",
        "We distil.",
        (),
        ("cs.CL",),
        upvotes=3,
        announced_on=DAY,
    ),
    PaperDoc(
        2,
        "2511.00002",
        "Diffusion models for proteins",
        "We diffuse.",
        (),
        ("q-bio.BM",),
        upvotes=40,
        announced_on=DAY,
    ),
]
READER = Profile(1, keywords=("distillation",))
NEWCOMER = Profile(2)


@pytest.fixture
def fits(monkeypatch):
    picking._FITTED.clear()
    calls = []
    real_fit = Ranker.fit.__func__

    def counting_fit(cls, papers, **options):
        calls.append(len(papers))
        return real_fit(cls, papers, **options)

    monkeypatch.setattr(Ranker, "fit", classmethod(counting_fit))
    return calls


def test_an_empty_profile_gets_the_most_upvoted_papers(fits):
    picks = picking.pick(POOL, [READER, NEWCOMER])

    assert [p.paper_id for p in picks[1]] == [1]
    assert [p.paper_id for p in picks[2]][0] == 2
    assert "trending" in picks[2][0].reason


def test_chunks_over_the_same_pool_share_one_fit(fits):
    first = picking.pick(POOL, [READER])
    second = picking.pick(list(POOL), [READER])

    assert fits == [2]
    assert first == second


def test_a_changed_paper_makes_a_new_fit(fits):
    picking.pick(POOL, [READER])
    picking.pick([POOL[0], replace(POOL[1], upvotes=41)], [READER])

    assert fits == [2, 2]


def test_only_a_few_pools_are_kept(fits):
    for upvotes in range(picking._FITTED_MAX + 3):
        picking.pick([replace(POOL[0], upvotes=upvotes)], [READER])

    assert len(picking._FITTED) == picking._FITTED_MAX
