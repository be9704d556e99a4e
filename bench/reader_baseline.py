"""A reader beside the product: how well can the judged profiles be served from what the
product knows, by someone who reads?

    DEBUG=1 .venv/bin/python bench/reader_baseline.py

bench/relevance/reader.json holds the picks of a reader (a language-model helper asked to
act as an expert human reader; not a person) for the description profiles of four judged
sets: from the sentence alone, ten papers of the whole pool ("day 1"); then, shown the ten
papers the papers step showed first and the judge's answer to each, ten papers of the rest
("after onboarding"). The reader saw only the sentences, the pool's titles and abstracts
and, for the second list, those answers: never a criterion or a relevant list. This script
scores the picks against the judgements as bench/eval_relevance.py scores the product
(P@10 over min(10, relevant papers left)), and ranks the same profiles with the product
beside it. The judges were language-model helpers too, so a reader of the same kind may
agree with them more than two people would: read the reader's figure as what the
sentences allow a reader, not as a human ceiling.
"""

from __future__ import annotations

import json
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
from digest.ranking.types import SUGGESTION_FLOOR  # noqa: E402

READER = ROOT / "bench" / "relevance" / "reader.json"


def main() -> None:
    docs, profiles, judged, spec = ev.load(ev.corpus.CORPUS)
    keys = [p.key for p in ev.corpus.load(ev.corpus.CORPUS)]
    by_key = {key: doc.id for key, doc in zip(keys, docs, strict=True)}
    split = {e["id"]: e["split"] for e in spec}
    entries = {e["profile"]: e for e in json.loads(READER.read_text())["profiles"]}
    members = [p for p in profiles if p.subscriber_id in entries]
    config = LearnerConfig()
    sim = simulate.Simulation(Ranker.fit(docs, learner=config), docs, judged, config)
    by_id = {d.id: d for d in docs}
    day1 = sim.rank(members)
    step = sim.rank(members, floor=SUGGESTION_FLOOR)
    onboarded, rows, moved = [], [], 0
    for profile in members:
        sid, relevant = profile.subscriber_id, judged[profile.subscriber_id]
        entry = entries[sid]
        shown = [by_key[k] for k in entry["shown"]]
        moved += shown != sim.trending_fill(profile, step[sid][: simulate.K])
        yes = [by_id[i] for i in shown if i in relevant]
        no = [by_id[i] for i in shown if i not in relevant]
        onboarded.append(replace(sim.with_answers(profile, yes, no), already_sent=frozenset(shown)))
        rows.append(
            {
                "sid": sid,
                "reader day 1": simulate.allowed_precision(
                    [by_key[k] for k in entry["day1"]], relevant, set()
                ),
                "reader after": simulate.allowed_precision(
                    [by_key[k] for k in entry["after"]], relevant, set(shown)
                ),
                "product day 1": simulate.allowed_precision(day1[sid], relevant, set()),
                "yes shown": len(yes),
            }
        )
    after = sim.rank(onboarded)
    for row, entry in zip(rows, (entries[p.subscriber_id] for p in members), strict=True):
        answered = {by_key[k] for k in entry["shown"]}
        row["product after"] = simulate.allowed_precision(
            after[row["sid"]], judged[row["sid"]], answered
        )
    columns = ["product day 1", "reader day 1", "product after", "reader after", "yes shown"]
    print(f"{len(rows)} description profiles; P@10 of what the pool allows\n")
    print(f"{'set':10}" + "".join(f"{c:>15}" for c in columns))
    for name in sorted({split[r["sid"]] for r in rows}, key=lambda s: (len(s), s)):
        chosen = [r for r in rows if split[r["sid"]] == name]
        print(f"{name:10}" + "".join(f"{np.mean([r[c] for r in chosen]):15.3f}" for c in columns))
    print(f"{'all':10}" + "".join(f"{np.mean([r[c] for r in rows]):15.3f}" for c in columns))
    below = sum(1 for r in rows if r["reader day 1"] < 0.9)
    print(f"\nreader below 0.9 on day 1: {below} of {len(rows)} profiles")
    if moved:
        print(f"the papers step now shows other papers first to {moved} profiles")


if __name__ == "__main__":
    main()
