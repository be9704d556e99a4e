"""Relevance evaluation of the personal ranking on the shared corpus and the judged profiles.

    .venv/bin/python bench/eval_relevance.py [--corpus /work/shared/corpus] [--json out.json]

Reports precision@5, precision@10 and nDCG@10 per profile and overall for the final
method, and for the description-only profiles compares it with the plain TF-IDF baseline
(scikit-learn's default TfidfVectorizer over the same papers) and with other variants.
Each profile gets its top 10; empty slots (the relevance floor cut the list short) count
as misses.

The profiles of `bench/relevance/profiles.json` are the set the text settings were tuned on;
those of `bench/relevance/heldout.json` ("split": "heldout") were judged afterwards and are
reported separately, with the same text-only comparison, to show whether the settings
generalise. The tuned-set figures and means do not include them.

Last, simulated subscribers (bench/relevance/simulate.py, issue 11): each profile answers
the papers it is shown by its judgements, at onboarding and after day 1's digest, and the
next digest is measured beside a twin that gave no feedback, with the per-subscriber
learner and with the Rocchio terms alone. `heldout3.json`, `heldout4.json` and
`heldout5.json` were judged before the learner ran on them, `heldout6.json` and
`heldout7.json` before the description's meaning counted in the ranking (2026-12-02, fifth
stop), `heldout8.json` before the glossary of plain-English glosses did (2026-12-03) and
`heldout9.json` before its final version did, `heldout10.json` and `heldout11.json` before
the terms a subscriber's "yes" papers share were offered to keep, `heldout12.json` and
`heldout13.json` before the topics to follow were, `heldout14.json` before the final
version of those (2026-12-03, run once as it stood), `heldout15.json` before the twelfth
stop ran that version on it beside a reader (bench/reader_baseline.py); their figures are
reported apart from the development sets the methods were chosen on. The "+kept" column:
after onboarding, the subscriber keeps as keywords the offered terms they judged worth
keeping (`bench/relevance/terms.json`); "d1+tp": day 1 after following the topics the
reading offers that they judged worth following (`bench/relevance/topics.json`); "ob+tk":
after onboarding with both.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench" / "relevance")]

import corpus  # noqa: E402
import simulate  # noqa: E402

from digest.ranking.learner import LearnerConfig  # noqa: E402
from digest.ranking.ranker import Ranker  # noqa: E402
from digest.ranking.text import TextConfig, TextModel  # noqa: E402
from digest.ranking.types import Profile  # noqa: E402

HERE = ROOT / "bench" / "relevance"
# Sets judged after the settings they measure were fixed, by split name.
HELD_OUT = {
    "heldout": "heldout.json",
    "heldout2": "heldout2.json",
    "heldout3": "heldout3.json",
    "heldout4": "heldout4.json",
    "heldout5": "heldout5.json",
    "heldout6": "heldout6.json",
    "heldout7": "heldout7.json",
    "heldout8": "heldout8.json",
    "heldout9": "heldout9.json",
    "heldout10": "heldout10.json",
    "heldout11": "heldout11.json",
    "heldout12": "heldout12.json",
    "heldout13": "heldout13.json",
    "heldout14": "heldout14.json",
    "heldout15": "heldout15.json",
}
# The sets the learner (issue 11) was chosen on; heldout3 was judged before it ran at all.
LEARNER_DEVELOPMENT = ("tuned", "heldout", "heldout2")
TODAY = date(2026, 11, 20)
K = 10

NO_PRF = TextConfig().without_prf().without_semantic()
WORDS_ONLY = TextConfig().without_semantic()  # also without the title check
METHODS = {
    "tfidf-baseline": TextConfig.baseline(),
    "tfidf-sublinear-bigrams": replace(NO_PRF, lsa_components=0, lsa_weight=0.0),
    "tfidf+stemming+lsa": replace(NO_PRF, stemmed=True),
    "tfidf+lsa": NO_PRF,
    "tfidf+lsa+rocchio-prf(5)": TextConfig(prf_docs=5, prf_terms=1_000_000, prf_weight=0.5),
    "tfidf+lsa+rm3(10 docs)": replace(WORDS_ONLY, prf_docs=10),
    "tfidf+lsa+rm3(30 docs, 23 here)": replace(WORDS_ONLY, prf_docs=30),
    "tfidf+lsa+rm3(20 docs, 50 terms)": replace(WORDS_ONLY, prf_terms=50),
    "tfidf+rm3, no lsa": replace(WORDS_ONLY, lsa_components=0, lsa_weight=0.0),
    "tfidf+lsa+rm3 (until 2026-11-27)": WORDS_ONLY,
    "+nearest terms, no rm3": TextConfig().without_prf(),
    "+nearest terms (20)": TextConfig(semantic_terms=20),
    "+nearest terms (80)": TextConfig(semantic_terms=80),
    "+nearest terms (weight 0.5)": TextConfig(semantic_weight=0.5),
    "+nearest terms (weight 1.5)": TextConfig(semantic_weight=1.5),
    "+nearest terms (no closeness floor)": TextConfig(semantic_min_closeness=0.0),
    "+nearest terms (closeness >= 0.35)": TextConfig(semantic_min_closeness=0.35),
    "+nearest terms, no title check": TextConfig(semantic_gate=0.0),
    "+nearest terms, no glossary (until 2026-12-03)": TextConfig(semantic_glossary=0.0),
    "final (tfidf+lsa+nearest terms+rm3)": TextConfig(),
}


def precision(ranked: list[int], relevant: set[int], k: int) -> float:
    return sum(1 for p in ranked[:k] if p in relevant) / k


def ndcg(ranked: list[int], relevant: set[int], k: int) -> float:
    dcg = sum(1 / math.log2(i + 2) for i, p in enumerate(ranked[:k]) if p in relevant)
    ideal = sum(1 / math.log2(i + 2) for i in range(min(k, len(relevant))))
    return dcg / ideal if ideal else 0.0


def load(corpus_dir: Path):
    papers = corpus.load(corpus_dir)
    planted = json.loads((HERE / "synthetic.json").read_text())["planted_authors"]
    docs = corpus.to_docs(papers, planted, TODAY)
    by_key = {p.key: d.id for p, d in zip(papers, docs, strict=True)}
    spec = json.loads((HERE / "profiles.json").read_text())["profiles"]
    spec = [{**e, "split": e.get("split", "tuned")} for e in spec]
    for held_out in HELD_OUT.values():
        spec += json.loads((HERE / held_out).read_text())["profiles"]
    profiles, judged = [], {}
    for entry in spec:
        interest = entry["interest"]
        profiles.append(
            Profile(
                subscriber_id=entry["id"],
                categories=tuple(interest.get("categories", ())),
                keywords=tuple(interest.get("keywords", ())),
                authors=tuple(interest.get("authors", ())),
                description=interest.get("description", ""),
                limit=K,
            )
        )
        judged[entry["id"]] = {by_key[k] for k in entry["relevant"]}
    return docs, profiles, judged, spec


def evaluate(docs, profiles, judged, config: TextConfig, **options) -> dict[int, dict]:
    ranked = Ranker.fit(docs, text=config, **options).rank(profiles)
    scores = {}
    for profile in profiles:
        ids = [p.paper_id for p in ranked[profile.subscriber_id]]
        rel = judged[profile.subscriber_id]
        scores[profile.subscriber_id] = {
            "p@5": precision(ids, rel, 5),
            "p@10": precision(ids, rel, 10),
            "ndcg@10": ndcg(ids, rel, 10),
            "returned": len(ids),
        }
    return scores


def mean(rows: list[dict], key: str) -> float:
    return sum(r[key] for r in rows) / len(rows) if rows else 0.0


def text_only(docs, described, judged, config: TextConfig) -> list[dict]:
    """Rank by text similarity alone (no floor, no trending): the top K per description."""
    model = TextModel(config).fit([TextModel(config).document(d.title, d.abstract) for d in docs])
    with threadpool_limits(limits=1, user_api="blas"):  # the same sums, so the same ties
        sims = model.similarity(model.queries([p.description for p in described]))
    sims = np.round(sims, 6)
    rows = []
    for profile, row in zip(described, sims, strict=True):
        ids = [docs[i].id for i in np.argsort(-row, kind="stable")[:K]]
        rel = judged[profile.subscriber_id]
        rows.append(
            {
                "p@5": precision(ids, rel, 5),
                "p@10": precision(ids, rel, 10),
                "ndcg@10": ndcg(ids, rel, 10),
            }
        )
    return rows


def print_rows(profiles, results, judged, names, kinds) -> None:
    print(f"{'profile':32} {'kind':12} {'rel':>4} {'ret':>4} {'P@5':>5} {'P@10':>5} {'nDCG@10':>8}")
    for p in profiles:
        r = results[p.subscriber_id]
        print(
            f"{names[p.subscriber_id]:32} {kinds[p.subscriber_id]:12} "
            f"{len(judged[p.subscriber_id]):4d} {r['returned']:4d} "
            f"{r['p@5']:5.2f} {r['p@10']:5.2f} {r['ndcg@10']:8.3f}"
        )


def compare_methods(docs, described, judged) -> dict[str, dict]:
    comparison: dict[str, dict[str, Any]] = {}
    for method, config in METHODS.items():
        rows = text_only(docs, described, judged, config)
        comparison[method] = {k: mean(rows, k) for k in ("p@5", "p@10", "ndcg@10")}
        comparison[method]["p@10 per profile"] = [r["p@10"] for r in rows]
        c = comparison[method]
        per = " ".join(f"{r['p@10']:.1f}" for r in rows)
        print(
            f"  {method:34} P@5 {c['p@5']:.2f}  P@10 {c['p@10']:.2f}  nDCG@10 {c['ndcg@10']:.3f}"
            f"   (P@10 per profile: {per})"
        )
    return comparison


def report_quiet_days(docs) -> dict[str, int]:
    described = json.loads((HERE / "offtopic.json").read_text())["descriptions"]
    quiet = [Profile(subscriber_id=i, description=d, limit=K) for i, d in enumerate(described)]
    totals = {}
    for method, config in (("words only", WORDS_ONLY), ("final", TextConfig())):
        ranked = Ranker.fit(docs, text=config).rank(quiet)
        counts = [len(ranked[p.subscriber_id]) for p in quiet]
        totals[method] = sum(counts)
        each = " ".join(f"{c:2d}" for c in counts)
        print(f"  {method:12} {each}   total {sum(counts)} of {K * len(quiet)}")
    return totals


def report_held_out(name, heldout, docs, judged, names, kinds, final, summary) -> dict:
    print(
        f"\n--- Held-out description profiles (bench/relevance/{HELD_OUT[name]}: judged after"
        "\n    the settings were fixed; never used for tuning) ---\n"
    )
    print_rows(heldout, final, judged, names, kinds)
    rows = [final[p.subscriber_id] for p in heldout]
    held = {k: mean(rows, k) for k in ("p@5", "p@10", "ndcg@10")}
    figures = f"{held['p@5']:5.2f} {held['p@10']:5.2f} {held['ndcg@10']:8.3f}"
    print(f"{'mean ' + name:45} {'':4} {figures}")
    print(f"\nThe same text-only comparison on the {name} descriptions:")
    held_methods = compare_methods(docs, [p for p in heldout if p.description], judged)
    held_gap = summary["keyword"]["p@10"] - held["p@10"]
    print(
        f"\nP@10 means: keyword {summary['keyword']['p@10']:.3f}, "
        f"description (tuned set) {summary['description']['p@10']:.3f}, "
        f"description ({name}) {held['p@10']:.3f}"
    )
    print(
        f"keyword minus {name} description P@10: {summary['keyword']['p@10']:.3f} - "
        f"{held['p@10']:.3f} = {held_gap:+.3f} (goal <= 0.10)"
    )
    return {
        "per_profile": {names[p.subscriber_id]: final[p.subscriber_id] for p in heldout},
        "mean": held,
        "description_methods": held_methods,
        f"keyword_minus_{name}_p@10": held_gap,
    }


def kept_terms(names: dict[int, str]) -> dict[int, frozenset[str]]:
    """Each judged profile's terms to keep as keywords (bench/relevance/terms.json)."""
    judged = json.loads((HERE / "terms.json").read_text())["profiles"]
    return {sid: frozenset(judged[n]["keep"]) for sid, n in names.items() if n in judged}


def followed_topics(names: dict[int, str]) -> dict[int, frozenset[str]]:
    """Each judged profile's topics to follow (bench/relevance/topics.json)."""
    judged = json.loads((HERE / "topics.json").read_text())["profiles"]
    return {sid: frozenset(judged[n]["follow"]) for sid, n in names.items() if n in judged}


def report_simulation(docs, profiles, judged, names, kinds, split) -> dict:
    """Simulated subscribers answering by the judgements (bench/relevance/simulate.py): the
    learner against the Rocchio terms alone, on the development sets and on heldout3."""
    out: dict = {}
    for method, config in (
        ("rocchio terms only (before issue 11)", LearnerConfig(weight=0)),
        ("learner + rocchio terms", LearnerConfig()),
    ):
        ranker = Ranker.fit(docs, learner=config)
        simulation = simulate.Simulation(
            ranker, docs, judged, config, kept_terms(names), followed_topics(names)
        )
        results = simulation.run(profiles)
        out[method] = {}
        for name, sets in (
            ("development", LEARNER_DEVELOPMENT),
            ("heldout3", ("heldout3",)),
            ("heldout4", ("heldout4",)),
            ("heldout5", ("heldout5",)),
            ("heldout6", ("heldout6",)),
            ("heldout7", ("heldout7",)),
            ("heldout8", ("heldout8",)),
            ("heldout9", ("heldout9",)),
            ("heldout10", ("heldout10",)),
            ("heldout11", ("heldout11",)),
            ("heldout12", ("heldout12",)),
            ("heldout13", ("heldout13",)),
            ("heldout14", ("heldout14",)),
            ("heldout15", ("heldout15",)),
        ):
            ids = [p.subscriber_id for p in profiles if split[p.subscriber_id] in sets]
            if not ids:
                continue
            summary = simulate.summarise(results, kinds, ids)
            title = f"{method}: {name} ({', '.join(sets)})"
            simulate.print_simulation(results, summary, names, kinds, ids, title)
            out[method][name] = {
                "summary": summary,
                "per_profile": {names[i]: results[i] for i in ids},
            }
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=corpus.CORPUS)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    docs, profiles, judged, spec = load(args.corpus)
    kinds = {e["id"]: e["kind"] for e in spec}
    names = {e["id"]: e["name"] for e in spec}
    split = {e["id"]: e["split"] for e in spec}
    tuned = [p for p in profiles if split[p.subscriber_id] == "tuned"]
    heldout = {
        name: [p for p in profiles if split[p.subscriber_id] == name]
        for name in HELD_OUT
        if any(split[p.subscriber_id] == name for p in profiles)
    }
    extra = sum(len(v) for v in heldout.values())
    print(f"{len(docs)} papers, {len(tuned)} profiles (+{extra} held-out), top {K} each\n")

    # One ranking for all profiles: each profile's picks depend only on itself and the papers.
    final = evaluate(docs, profiles, judged, TextConfig())
    print_rows(tuned, final, judged, names, kinds)
    summary = {}
    for kind in ("keyword", "description", "mixed", "all"):
        rows = [
            final[p.subscriber_id] for p in tuned if kind == "all" or kinds[p.subscriber_id] == kind
        ]
        summary[kind] = {k: mean(rows, k) for k in ("p@5", "p@10", "ndcg@10")}
        s = summary[kind]
        print(f"{'mean ' + kind:45} {'':4} {s['p@5']:5.2f} {s['p@10']:5.2f} {s['ndcg@10']:8.3f}")

    print(
        "\nDescription-only profiles ranked by text similarity alone (no floor, no trending),"
        "\nso that methods with different similarity scales compare fairly:"
    )
    comparison = compare_methods(docs, [p for p in tuned if p.description], judged)
    gap = summary["keyword"]["p@10"] - summary["description"]["p@10"]
    print(
        f"\nkeyword minus description P@10: {summary['keyword']['p@10']:.3f} - "
        f"{summary['description']['p@10']:.3f} = {gap:+.3f} (goal <= 0.10)"
    )
    print(f"overall P@10: {summary['all']['p@10']:.3f} (goal >= 0.80)")

    out: dict[str, Any] = {
        "per_profile": {names[p.subscriber_id]: final[p.subscriber_id] for p in tuned},
        "summary": summary,
        "description_methods": comparison,
    }
    print(
        "\nQuiet days: picks above the floor (of 10) for descriptions of topics the pool"
        "\nbarely covers (bench/relevance/offtopic.json); fewer is better:"
    )
    out["quiet_days"] = report_quiet_days(docs)
    for name, held_profiles in heldout.items():
        out[name] = report_held_out(name, held_profiles, docs, judged, names, kinds, final, summary)
    out["simulated_subscribers"] = report_simulation(docs, profiles, judged, names, kinds, split)
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
