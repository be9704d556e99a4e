"""Days of answers: how a subscriber's digests improve as answers accumulate, day after day.

    DEBUG=1 .venv/bin/python bench/days_of_answers.py

bench/eval_relevance.py judges one day of feedback; bench/onboarding_split.py one step of
onboarding. A subscriber keeps answering, though: every digest carries "more like this" and
"fewer like this". Here the judged pool is cut at random into four "days" of new papers
(three draws). Day 0's papers are only ever shown on the papers step; days 1 to 3 each bring
a digest of ten, ranked on that day's papers alone, with every answer given so far. Every
answer follows the judgements, on every paper shown, as in the issue's simulation.

- no answers: the twin, who never answers;
- digests: "more like this" or "fewer like this" on every paper of every digest;
- step + digests: two pages of ten on the papers step (day 0), then as above.

P@10 of each day is taken on that day's papers: hits divided by min(10, relevant papers of
that day), 1.0 for a day that holds none.
"""

from __future__ import annotations

import random
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "relevance")]

import simulate  # noqa: E402
from onboarding_split import SplitOnboarding, judged_simulation  # noqa: E402

from digest.ranking.types import Profile  # noqa: E402

DRAWS = 3
DAYS = 4  # day 0 for the papers step, then three digests
WAYS = ("no answers", "digests", "step + digests")


def days_of(ids: list[int], draw: int) -> list[frozenset[int]]:
    shuffled = sorted(ids)
    random.Random(draw).shuffle(shuffled)
    return [frozenset(shuffled[day::DAYS]) for day in range(DAYS)]


def digests(
    sim: simulate.Simulation, members: list[Profile], days: list[frozenset[int]], way: str
) -> list[list[float]]:
    """Per profile, P@10 of each digest day (1 to DAYS - 1) when answering `way`."""
    everything = frozenset().union(*days)
    step = SplitOnboarding(sim, days[0])
    answered: dict[int, list[int]] = {p.subscriber_id: [] for p in members}
    if way == "step + digests":
        answered = {p.subscriber_id: step.shown(p, "two pages") for p in members}
    scores: dict[int, list[float]] = {p.subscriber_id: [] for p in members}
    for today in days[1:]:
        unseen = everything - today
        asked = [
            replace(
                step.answered(p, answered[p.subscriber_id])
                if way != "no answers" and answered[p.subscriber_id]
                else p,
                already_sent=unseen,
            )
            for p in members
        ]
        ranked = sim.rank(asked)
        for p in members:
            sid = p.subscriber_id
            scores[sid].append(simulate.allowed_precision(ranked[sid], sim.judged[sid], unseen))
            answered[sid] += ranked[sid]
    return [scores[p.subscriber_id] for p in members]


def main() -> None:
    sim, kinds, split = judged_simulation()
    ids = [d.id for d in sim.docs]
    found: dict[tuple[str, str], list[tuple[list[float], str]]] = {}
    for draw in range(DRAWS):
        days = days_of(ids, draw)
        for kind, members in kinds.items():
            for way in WAYS:
                for profile, scores in zip(members, digests(sim, members, days, way), strict=True):
                    found.setdefault((kind, way), []).append((scores, split[profile.subscriber_id]))
    sets = sorted({s for rows in found.values() for _, s in rows})
    for kind in kinds:
        print(f"\n{kind} profiles: P@10 of each day's digest on that day's papers ({DRAWS} draws)")
        print(
            f"{'':16}"
            + "".join(f"{'day ' + str(d):>7}" for d in range(1, DAYS))
            + "   day 3 by set: "
            + " ".join(f"{s:>9}" for s in sets)
        )
        for way in WAYS:
            rows = found[(kind, way)]
            per_day = np.mean([scores for scores, _ in rows], axis=0)
            last = [[scores[-1] for scores, s in rows if s == name] for name in sets]
            below = sum(
                1
                for (scores, _), (twin, _) in zip(rows, found[(kind, "no answers")], strict=True)
                if scores[-1] < twin[-1] - 1e-9
            )
            print(
                f"{way:16}"
                + "".join(f"{v:7.3f}" for v in per_day)
                + f"   below twin on day 3: {below:3d}  "
                + " ".join(f"{np.mean(v):9.2f}" if v else f"{'':>9}" for v in last)
            )


if __name__ == "__main__":
    main()
