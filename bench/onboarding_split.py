"""Onboarding measured on a split pool: the papers step shows papers of one half of the judged
pool, the next digest is ranked on the other half.

    DEBUG=1 .venv/bin/python bench/onboarding_split.py

The simulation of bench/eval_relevance.py measures the digest after onboarding on the papers
not yet shown. A way of showing papers that finds more of the relevant ones during
onboarding then leaves fewer, and the harder ones, for that digest: it is judged on what it
did not find. In the product the step shows recent papers and the digests bring new ones,
so here the pool is cut in two at random (two draws): the step shows only half A, the
digest after it ranks only half B, and P@10 is taken on B as in the simulation (hits
divided by min(10, relevant papers of B)). Beside the digest without any answer ("day 1",
also on B), four ways of onboarding, every answer by the judgements:

- first page: the ten papers the step shows first (closest first, then trending ones);
- two pages: those, then the ten the step's "Show other papers" shows with those answers;
- one at a time (10, 20): after each answer the next paper is the one ranked first with
  the answers so far, as a page that replaced each answered paper with the next would.

"met" is how many relevant papers the subscriber answered "yes" on the way.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "relevance")]

import eval_relevance as ev  # noqa: E402
import simulate  # noqa: E402

from digest.ranking.learner import LearnerConfig  # noqa: E402
from digest.ranking.ranker import Ranker  # noqa: E402
from digest.ranking.types import SUGGESTION_FLOOR, Profile  # noqa: E402

DRAWS = 2
PAGE = 10
WAYS = ("first page", "two pages", "one at a time, 10", "one at a time, 20")


class SplitOnboarding:
    def __init__(self, sim: simulate.Simulation, shown_half: frozenset[int]) -> None:
        self.sim = sim
        self.half = shown_half
        self.other = frozenset(d.id for d in sim.docs) - shown_half
        self.by_id = {d.id: d for d in sim.docs}
        self.trending = [
            d.id
            for d in sorted(
                sim.docs, key=lambda p: (p.upvote_growth, p.upvotes, p.arxiv_id), reverse=True
            )
            if d.id in shown_half
        ]

    def answered(self, profile: Profile, shown: list[int]) -> Profile:
        relevant = self.sim.judged[profile.subscriber_id]
        yes = [self.by_id[i] for i in shown if i in relevant]
        no = [self.by_id[i] for i in shown if i not in relevant]
        return self.sim.with_answers(profile, yes, no)

    def page(self, profile: Profile, shown: list[int], size: int) -> list[int]:
        """What the step shows next: the closest papers of the shown half given the answers
        so far, then trending ones."""
        hidden = self.other | frozenset(shown)
        asked = replace(self.answered(profile, shown), already_sent=hidden)
        picks = self.sim.rank([asked], floor=SUGGESTION_FLOOR)[profile.subscriber_id][:size]
        for paper in self.trending:
            if len(picks) >= size:
                break
            if paper not in picks and paper not in hidden:
                picks.append(paper)
        return picks

    def shown(self, profile: Profile, way: str) -> list[int]:
        if way == "first page":
            return self.page(profile, [], PAGE)
        if way == "two pages":
            first = self.page(profile, [], PAGE)
            return first + self.page(profile, first, PAGE)
        count = int(way.rsplit(" ", 1)[1])
        shown: list[int] = []
        while len(shown) < count:
            shown += self.page(profile, shown, 1)
        return shown


def judged_simulation() -> tuple[simulate.Simulation, dict[str, list[Profile]], dict[int, str]]:
    """The simulation over the judged pool, its description and keyword profiles, and each
    profile's set."""
    docs, profiles, judged, spec = ev.load(ev.corpus.CORPUS)
    kinds = {
        "description": [p for p in profiles if p.description and not p.keywords],
        "keyword": [p for p in profiles if p.keywords and not p.description],
    }
    config = LearnerConfig()
    sim = simulate.Simulation(Ranker.fit(docs, learner=config), docs, judged, config)
    return sim, kinds, {e["id"]: e["split"] for e in spec}


def main() -> None:
    sim, kinds, split = judged_simulation()
    docs, judged = sim.docs, sim.judged
    found: dict[tuple[str, str], list[tuple[float, float, int, str]]] = {}
    for draw in range(DRAWS):
        ids = sorted(d.id for d in docs)
        random.Random(draw).shuffle(ids)
        onboarding = SplitOnboarding(sim, frozenset(ids[: len(ids) // 2]))
        for kind, members in kinds.items():
            day1 = sim.rank([replace(p, already_sent=onboarding.half) for p in members])
            for way in WAYS:
                after, met = [], []
                for profile in members:
                    shown = onboarding.shown(profile, way)
                    met.append(sum(1 for i in shown if i in judged[profile.subscriber_id]))
                    answered = onboarding.answered(profile, shown)
                    after.append(replace(answered, already_sent=onboarding.half))
                ranked = sim.rank(after)
                for profile, yes in zip(members, met, strict=True):
                    sid, relevant = profile.subscriber_id, judged[profile.subscriber_id]
                    found.setdefault((kind, way), []).append(
                        (
                            simulate.allowed_precision(ranked[sid], relevant, onboarding.half),
                            simulate.allowed_precision(day1[sid], relevant, onboarding.half),
                            yes,
                            split[sid],
                        )
                    )
    sets = sorted({row[3] for rows in found.values() for row in rows})
    for kind in kinds:
        print(f"\n{kind} profiles: P@10 on half B after onboarding on half A ({DRAWS} draws)")
        print(f"{'':18}{'day 1':>6}{'after':>6}{'met':>5}  " + " ".join(f"{s:>9}" for s in sets))
        for way in WAYS:
            rows = found[(kind, way)]
            by_set = [[r[0] for r in rows if r[3] == s] for s in sets]
            print(
                f"{way:18}{np.mean([r[1] for r in rows]):6.3f}{np.mean([r[0] for r in rows]):6.3f}"
                f"{np.mean([r[2] for r in rows]):5.1f}  "
                + " ".join(f"{np.mean(v):9.2f}" if v else f"{'':>9}" for v in by_set)
            )


if __name__ == "__main__":
    main()
