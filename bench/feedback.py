"""Answers and learners for bench/bench_ranking.py (issue 11): a share of the subscribers
hold 20 to 200 answered papers, and their learners are fitted as subscriptions.learners
fits them (the papers' vectors read from the machine's store, one fit per subscriber)."""

from __future__ import annotations

import multiprocessing
import random
import time
from dataclasses import replace

import numpy as np

from digest.ranking import semantic
from digest.ranking.learner import (
    Background,
    LearnerConfig,
    learner_fit,
    learner_rows,
    paper_rows,
    word_features,
)
from digest.ranking.types import LearnerWeights, PaperDoc, Profile


def with_answers(
    profiles: list[Profile],
    papers: list[PaperDoc],
    older: list[PaperDoc],
    rng: random.Random,
    share: float,
    low: int = 20,
    high: int = 200,
) -> list[Profile]:
    """`share` of the profiles answer `low` to `high` papers (two thirds of them "yes"),
    from today's pool and older days; the others none. Answered papers count as sent."""
    out = []
    for profile in profiles:
        if rng.random() >= share:
            out.append(replace(profile, liked=(), disliked=()))
            continue
        n = rng.randint(low, high)
        answered = rng.sample(papers, min(n * 2 // 3, len(papers))) + rng.sample(
            older, min(n - n * 2 // 3, len(older))
        )
        rng.shuffle(answered)
        cut = len(answered) * 2 // 3
        out.append(
            replace(
                profile,
                liked=tuple(answered[:cut]),
                disliked=tuple(answered[cut:]),
                already_sent=profile.already_sent | {p.id for p in answered},
            )
        )
    return out


# What the forked fitting processes read (set before they start, shared copy-on-write).
_SHARED: dict = {}


def _fit_some(jobs: list[tuple]) -> list[tuple[int, LearnerWeights]]:
    rows, background, config = _SHARED["rows"], _SHARED["background"], _SHARED["config"]
    return [
        (sid, learner_fit(rows[yes], rows[no], background, prior, config, answered))
        for sid, yes, no, prior, answered in jobs
    ]


def fit_learners(
    profiles: list[Profile], papers: list[PaperDoc], older: list[PaperDoc], processes: int = 1
) -> tuple[list[Profile], dict[str, float]]:
    """The profiles with their learners, and the figures of the refit. With `processes` > 1
    the fits are spread over that many processes, as refit tasks spread over send workers."""
    encoder = semantic.encoder()
    assert encoder is not None, "the learners need the sentence encoder"
    config = LearnerConfig()
    docs = {p.id: p for p in [*papers, *older]}
    start = time.perf_counter()
    ids = sorted(docs)
    rows = paper_rows(encoder, [(docs[i].title, docs[i].abstract) for i in ids], config)
    encoded = time.perf_counter() - start
    row = {pid: r for r, pid in enumerate(ids)}
    # The background: the newest papers (here the day's), as subscriptions.learners takes them.
    newest = sorted((p.id for p in papers), reverse=True)
    background = Background.of(newest, rows[[row[i] for i in newest]], config.background_papers)
    answering = [p for p in profiles if p.liked or p.disliked]
    start = time.perf_counter()
    texts = sorted({p.description.strip() or ", ".join(p.keywords) for p in answering} - {""})
    # As subscriptions.learners does for keyword lists: through the machine's term store.
    priors = dict(zip(texts, encoder.encode_terms(texts), strict=True)) if texts else {}
    prior_words = dict(zip(texts, word_features(texts), strict=True)) if texts else {}
    prior_seconds = time.perf_counter() - start
    jobs = []
    for p in answering:
        text = p.description.strip() or ", ".join(p.keywords)
        prior = p.description_vector if p.description_vector is not None else priors.get(text)
        prior_row = learner_rows(prior_words[text], prior) if prior is not None else None
        answered = frozenset(d.id for d in [*p.liked, *p.disliked])
        yes, no = [row[d.id] for d in p.liked], [row[d.id] for d in p.disliked]
        jobs.append((p.subscriber_id, yes, no, prior_row, answered))
    _SHARED.update(rows=rows, background=background, config=config)
    start = time.perf_counter()
    if processes > 1:
        slices = [jobs[i::processes] for i in range(processes)]
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            fitted = dict(pair for part in pool.map(_fit_some, slices) for pair in part)
    else:
        fitted = dict(_fit_some(jobs))
    fit_seconds = time.perf_counter() - start
    answers = np.array([len(p.liked) + len(p.disliked) for p in answering])
    figures = {
        "subscribers": len(answering),
        "answers_mean": float(answers.mean()) if len(answers) else 0.0,
        "paper_vectors_seconds": encoded,
        "prior_texts": len(texts),
        "prior_seconds": prior_seconds,
        "fit_seconds": fit_seconds,
        "fits_per_second": len(answering) / fit_seconds if fit_seconds else 0.0,
        "processes": processes,
    }
    out = [
        replace(p, learner=fitted[p.subscriber_id]) if p.subscriber_id in fitted else p
        for p in profiles
    ]
    return out, figures
