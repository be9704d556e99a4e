"""How far a subscriber's answers can take the learner at all, on the judged profiles.

    DEBUG=1 .venv/bin/python bench/learner_ceiling.py

For every description profile: K papers judged relevant, drawn at random, answered "yes",
and 10 random others answered "no"; the learner is fitted on them as the product fits it
(`digest.ranking.learner.learner_fit`: hashed words and the encoder's vectors, the
background of the 500 newest papers) and every paper not answered is ranked by it alone.
P@10 is taken as in the simulation (bench/relevance/simulate.py): hits divided by
min(10, relevant papers not answered), 1.0 when none is left. Three draws per profile.
Beside it, plain baselines over the same papers: the cosine to the centroid of the
"yes" papers' encoder vectors, to the centroid of their hashed words, and to the centroid
of their LSA vectors (TF-IDF of the judged pool reduced to 150 dimensions), less 0.3 of the
"no" papers' LSA centroid; and the learner's and that LSA score added, each as standard
deviations over the pool (a probe for LSA features in the learner, not taken: ninth stop).

This is a ceiling for onboarding: there a subscriber answers the papers the ranking shows,
and a description's first ten hold fewer relevant papers than K = 10.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import numpy as np
from sklearn.decomposition import TruncatedSVD
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "relevance")]

import eval_relevance as ev  # noqa: E402
import simulate  # noqa: E402

from digest.ranking.learner import LearnerConfig, learner_fit, paper_words  # noqa: E402
from digest.ranking.ranker import Ranker  # noqa: E402

SEEDS = 3
NOES = 10
YES_COUNTS = (1, 3, 5, 10)
LSA_DIMENSIONS = 150


def standardised(values: np.ndarray) -> np.ndarray:
    return (values - values.mean()) / (values.std() or 1.0)


def lsa_vectors(docs) -> np.ndarray:
    """The pool's papers as LSA vectors (fitted on the pool itself: optimistic)."""
    texts = [paper_words(d.title, d.abstract) for d in docs]
    tfidf = TfidfVectorizer(
        sublinear_tf=True, ngram_range=(1, 2), min_df=2, stop_words="english"
    ).fit_transform(texts)
    return normalize(TruncatedSVD(LSA_DIMENSIONS, random_state=0).fit_transform(tfidf))


def main() -> None:
    docs, profiles, judged, spec = ev.load(ev.corpus.CORPUS)
    split = {e["id"]: e["split"] for e in spec}
    described = [p for p in profiles if p.description and not p.keywords]
    config = LearnerConfig()
    ranker = Ranker.fit(docs, learner=config)
    sim = simulate.Simulation(ranker, docs, judged, config)
    features = ranker.learner_features()
    assert sim.rows is not None and features is not None, "the ceiling needs the encoder"
    ids = np.array([d.id for d in docs])
    vectors = normalize(features[:-1].T.astype(np.float64))
    words = normalize(ranker.learner_words().T.tocsr().astype(np.float64))
    lsa = lsa_vectors(docs)
    sets: dict[str, tuple[str, ...]] = {"development": ev.LEARNER_DEVELOPMENT}
    sets.update({name: (name,) for name in ev.HELD_OUT if name not in sets["development"]})
    print(f"{len(described)} description profiles, {SEEDS} draws each; P@10 of what is left\n")
    names = ["dev" if n == "development" else n.replace("heldout", "h") for n in sets]
    print(f"{'yes':>3} {'scorer':16}" + "".join(f"{n:>6}" for n in names) + f"{'all':>6}")
    for k in YES_COUNTS:
        found: dict[str, dict[str, list[float]]] = {}
        for seed in range(SEEDS):
            draw = random.Random(seed)
            for profile in described:
                sid = profile.subscriber_id
                relevant = judged[sid]
                yes = draw.sample(sorted(relevant), min(k, len(relevant)))
                no = draw.sample([d.id for d in docs if d.id not in relevant], NOES)
                answered = set(yes) | set(no)
                rows_yes = [sim.column[i] for i in yes]
                weights = learner_fit(
                    sim.rows[rows_yes],
                    sim.rows[[sim.column[i] for i in no]],
                    sim.background,
                    None,
                    config,
                    frozenset(answered),
                )
                coef = np.zeros(sim.rows.shape[1])
                coef[weights.word_features] = weights.word_weights
                coef[-len(weights.direction) + 1 :] = weights.direction[:-1]
                rows_no = [sim.column[i] for i in no]
                learned = np.asarray(sim.rows @ coef).ravel()
                lsa_score = lsa @ lsa[rows_yes].mean(0) - 0.3 * (lsa @ lsa[rows_no].mean(0))
                scores = {
                    "learner (SVM)": learned,
                    "encoder centroid": vectors @ vectors[rows_yes].mean(0),
                    "words centroid": np.asarray(words @ words[rows_yes].mean(0).T).ravel(),
                    "LSA centroid": lsa_score,
                    "learner + LSA": standardised(learned) + standardised(lsa_score),
                }
                for name, score in scores.items():
                    order = np.argsort(-score, kind="stable")
                    top = [ids[i] for i in order if ids[i] not in answered][:10]
                    value = simulate.allowed_precision(top, relevant, answered)
                    found.setdefault(name, {}).setdefault(split[sid], []).append(value)
        for name, by_split in found.items():
            means = []
            for members in sets.values():
                values = [v for s in members for v in by_split.get(s, [])]
                means.append(f"{np.mean(values):6.2f}" if values else f"{'':>6}")
            overall = np.mean([v for values in by_split.values() for v in values])
            print(f"{k:3} {name:16}" + "".join(means) + f"{overall:6.2f}")


if __name__ == "__main__":
    main()
