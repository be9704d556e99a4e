"""Ranking benchmark: 100,000 generated subscribers against 2,000 papers, cut to each digest.

    .venv/bin/python bench/bench_ranking.py [--subscribers 100000] [--papers 2000]
                                            [--svm-sample 200] [--seed 7]
                                            [--rank-processes N] [--task-size 500]

Papers are the shared corpus's real titles and abstracts, replicated with variations
(sentences rotated and one sentence borrowed from another paper) to reach the count, with
the synthetic listing of bench/relevance/corpus.py. Subscribers are generated with varied
interests: keywords and phrases (some excluded), categories, followed authors, free-text
descriptions, feedback, papers already sent, limits from 5 to 20.

Beside it, the arxiv-sanity-lite approach: one LinearSVC (C=0.01, class_weight="balanced")
per subscriber on the papers' TF-IDF features, as arxiv-sanity-lite fits one per tag, its
positives the subscriber's liked papers; timed on a sample and extrapolated.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import resource
import sys
import time
from dataclasses import replace
from datetime import date
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench"), str(ROOT / "bench" / "relevance")]

import corpus  # noqa: E402
import feedback  # noqa: E402
import host_probe  # noqa: E402
import rank_processes  # noqa: E402

from digest.ranking.ranker import Ranker  # noqa: E402
from digest.ranking.text import TextConfig  # noqa: E402
from digest.ranking.types import PaperDoc, Profile  # noqa: E402

TODAY = date(2026, 11, 20)

KEYWORDS = [
    "distillation",
    "knowledge distillation",
    "transfer learning",
    "cross-lingual",
    "multilingual",
    "style transfer",
    "reinforcement learning",
    "RL",
    "robot",
    "manipulation",
    "speech recognition",
    "audio",
    "continual learning",
    "catastrophic forgetting",
    "adapter",
    "LoRA",
    "prompt tuning",
    "parameter-efficient",
    "diffusion",
    "diffusion models",
    "large language model",
    "LLM",
    "vision transformer",
    "segmentation",
    "object detection",
    "contrastive learning",
    "self-supervised",
    "zero-shot",
    "few-shot",
    "mixture of experts",
    "quantization",
    "pruning",
    "compression",
    "retrieval",
    "dense retrieval",
    "question answering",
    "machine translation",
    "low-resource",
    "benchmark",
    "dataset",
    "alignment",
    "RLHF",
    "reward model",
    "reasoning",
    "chain-of-thought",
    "agents",
    "multimodal",
    "video",
    "3D",
    "point cloud",
    "medical",
    "protein",
    "graph neural network",
    "federated learning",
    "privacy",
    "adversarial",
    "robustness",
    "domain adaptation",
    "meta-learning",
    "curriculum",
    "co-training",
    "semi-supervised",
    "sentence embeddings",
    "BERT",
    "T5",
    "CLIP",
    "instruction tuning",
    "hallucination",
    "scaling laws",
    "optimizer",
    "sim-to-real",
    "imitation learning",
    "locomotion",
    "music",
    "text-to-image",
    "image editing",
]
EXCLUDES = ["-survey", "-benchmark", "-dataset", "-medical", "-video", "-speech"]
CATEGORIES = ["cs.CL", "cs.CV", "cs.LG", "cs.AI", "cs.RO", "eess.AS", "cs", "cs.*"]
DESCRIPTION_WORDS = [
    "I",
    "want",
    "papers",
    "on",
    "making",
    "models",
    "smaller",
    "faster",
    "cheaper",
    "robust",
    "multilingual",
    "speech",
    "audio",
    "robots",
    "learning",
    "from",
    "humans",
    "continual",
    "lifelong",
    "forgetting",
    "adapters",
    "tuning",
    "frozen",
    "pretrained",
    "retrieval",
    "search",
    "ranking",
    "images",
    "video",
    "generation",
    "editing",
    "style",
    "reasoning",
    "math",
    "agents",
    "tools",
    "planning",
    "alignment",
    "safety",
    "reward",
    "feedback",
    "data",
    "efficient",
    "training",
    "transfer",
    "languages",
    "translation",
    "low",
    "resource",
    "knowledge",
    "teacher",
    "student",
    "distill",
    "compress",
    "prune",
    "quantize",
]


def make_papers(n: int, rng: random.Random) -> list[PaperDoc]:
    papers = corpus.load()
    planted = json.loads((ROOT / "bench/relevance/synthetic.json").read_text())["planted_authors"]
    base = corpus.to_docs(papers, planted, TODAY)
    docs = []
    for i in range(n):
        src = base[i % len(base)]
        if i >= len(base):
            sentences = src.abstract.split(". ")
            k = rng.randrange(len(sentences))
            other = base[rng.randrange(len(base))].abstract.split(". ")
            abstract = ". ".join(sentences[k:] + sentences[:k] + [rng.choice(other)])
            src = replace(src, title=f"{src.title} (variant {i // len(base)})", abstract=abstract)
        upvotes = int(rng.paretovariate(1.2)) - 1
        docs.append(
            replace(
                src,
                id=i + 1,
                arxiv_id=f"2611.{i + 1:05d}",
                upvotes=upvotes,
                upvote_growth=rng.randint(0, max(upvotes, 0)),
            )
        )
    return docs


def make_profiles(
    n: int, papers: list[PaperDoc], rng: random.Random
) -> tuple[list[Profile], list[PaperDoc]]:
    authors = sorted({a for p in papers for a in p.authors})
    older = [
        PaperDoc(10_000_000 + j, f"old.{j}", p.title, p.abstract)
        for j, p in enumerate(rng.sample(papers, 300))
    ]
    profiles = []
    for sid in range(1, n + 1):
        kind = rng.random()
        keywords, categories, followed, description = [], [], [], ""
        if kind < 0.40 or kind >= 0.75:  # keywords, alone or with more
            keywords = rng.sample(KEYWORDS, rng.randint(1, 4))
            if rng.random() < 0.15:
                keywords.append(rng.choice(EXCLUDES))
        if 0.40 <= kind < 0.60 or kind >= 0.85:
            categories = rng.sample(CATEGORIES, rng.randint(1, 2))
        if 0.60 <= kind < 0.75:
            description = " ".join(rng.sample(DESCRIPTION_WORDS, rng.randint(6, 14)))
        if kind >= 0.90 or rng.random() < 0.08:
            followed = rng.sample(authors, rng.randint(1, 3))
        liked: tuple[PaperDoc, ...] = ()
        disliked: tuple[PaperDoc, ...] = ()
        if rng.random() < 0.2:
            liked = tuple(rng.sample(papers, rng.randint(1, 3)) + rng.sample(older, 1))
            if rng.random() < 0.5:
                disliked = tuple(rng.sample(older, rng.randint(1, 2)))
        sent = frozenset(rng.sample(range(1, len(papers) + 1), rng.randint(0, 40)))
        profiles.append(
            Profile(
                subscriber_id=sid,
                categories=tuple(categories),
                keywords=tuple(keywords),
                authors=tuple(followed),
                description=description,
                limit=rng.choice([5, 10, 10, 10, 15, 20]),
                already_sent=sent,
                liked=liked,
                disliked=disliked,
            )
        )
    return profiles, older


def with_stored_vectors(profiles: list[Profile]) -> list[Profile]:
    """Profiles as the database gives them: each description's encoder vector is stored when
    the subscriber writes it, so the day's ranking does not encode descriptions."""
    from digest.ranking import semantic

    encoder = semantic.encoder()
    if encoder is None:
        sys.exit("the sentence encoder is not available; use --words-only")
    texts = sorted({p.description.strip() for p in profiles if p.description.strip()})
    start = time.perf_counter()
    # Through the term store, so a second run reads them back (the database would).
    vectors = dict(zip(texts, encoder.encode_terms(texts), strict=True))
    seconds = time.perf_counter() - start
    print(
        f"encoded {len(texts)} distinct descriptions in {seconds:.1f} s "
        f"({len(texts) / seconds:.0f}/s; done once, when a subscriber writes one)"
    )
    return [
        replace(p, description_vector=vectors[p.description.strip()])
        if p.description.strip()
        else p
        for p in profiles
    ]


def max_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def svm_sample(papers, profiles, sample: int, rng: random.Random) -> tuple[float, float]:
    """arxiv-sanity-lite's way: TF-IDF features, one LinearSVC per subscriber (per tag)."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.svm import LinearSVC

    start = time.perf_counter()
    # arxiv-sanity-lite's compute.py settings.
    vectorizer = TfidfVectorizer(
        input="content",
        encoding="utf-8",
        decode_error="replace",
        strip_accents="unicode",
        lowercase=True,
        analyzer="word",
        stop_words="english",
        token_pattern=r"(?u)\b[a-zA-Z_][a-zA-Z0-9_]+\b",
        ngram_range=(1, 2),
        max_features=20000,
        norm="l2",
        use_idf=True,
        smooth_idf=True,
        sublinear_tf=True,
        max_df=0.10,
        min_df=5,
    )
    x = vectorizer.fit_transform([f"{p.title}. {p.abstract}" for p in papers])
    fit_seconds = time.perf_counter() - start
    position = {p.id: i for i, p in enumerate(papers)}
    chosen = rng.sample([p for p in profiles if p.liked], sample)
    start = time.perf_counter()
    for profile in chosen:
        y = np.zeros(x.shape[0], dtype=np.int8)
        for doc in profile.liked:
            if doc.id in position:
                y[position[doc.id]] = 1
        if y.sum() == 0:
            y[rng.randrange(len(y))] = 1
        clf = LinearSVC(class_weight="balanced", verbose=False, max_iter=10000, tol=1e-6, C=0.01)
        clf.fit(x, y)
        scores = clf.decision_function(x)
        sent = [position[i] for i in profile.already_sent if i in position]
        scores[sent] = -np.inf
        top = np.argpartition(-scores, profile.limit)[: profile.limit]
        top[np.argsort(-scores[top])]
    return fit_seconds, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--papers", type=int, default=2_000)
    parser.add_argument("--svm-sample", type=int, default=200)
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--answers-share",
        type=float,
        default=0.3,
        help="share of subscribers with 20-200 answered papers and a learner (0: the few "
        "liked papers of 20 %% of them, without learners, as before issue 11)",
    )
    parser.add_argument(
        "--refit-processes",
        type=int,
        default=1,
        help="processes fitting the learners (as refit tasks spread over send workers)",
    )
    parser.add_argument(
        "--rank-processes",
        type=int,
        default=1,
        help="also rank the day split into this many forked processes, as the send workers "
        "rank it (one per core), after the one-process measure",
    )
    parser.add_argument(
        "--task-size",
        type=int,
        default=500,
        help="with --rank-processes: subscribers per ranking call, as a send task ranks "
        "DELIVERY_CHUNK_SIZE (500) deliveries (0: each process ranks its share in one call)",
    )
    parser.add_argument(
        "--words-only",
        action="store_true",
        help="rank descriptions by their words alone (no sentence encoder), as before 2026-11-27",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    print(f"before: {host_probe.probe()}")

    papers = make_papers(args.papers, rng)
    profiles, older = make_profiles(args.subscribers, papers, rng)
    text = TextConfig().without_semantic() if args.words_only else TextConfig()
    if not args.words_only:
        profiles = with_stored_vectors(profiles)
    if args.answers_share > 0:
        profiles = feedback.with_answers(profiles, papers, older, rng, args.answers_share)
        if not args.words_only:
            profiles, refit = feedback.fit_learners(
                profiles, papers, older, processes=args.refit_processes
            )
            print(
                f"learners: {refit['subscribers']} subscribers with "
                f"{refit['answers_mean']:.0f} answers on average; paper vectors "
                f"{refit['paper_vectors_seconds']:.1f} s (from the store: encoded at ingestion), "
                f"{refit['prior_texts']} distinct interest texts encoded in "
                f"{refit['prior_seconds']:.1f} s, fits {refit['fit_seconds']:.2f} s = "
                f"{refit['fits_per_second']:.0f} subscribers/s "
                f"({refit['processes']} fitting process(es))"
            )
    gc.collect()
    rss_before = max_rss_mb()
    print(
        f"{len(papers)} papers, {len(profiles)} subscribers (inputs built, RSS {rss_before:.0f} MB)"
    )

    load = os.getloadavg()[0]
    cpu_start = time.process_time()
    start = time.perf_counter()
    ranker = Ranker.fit(papers, text=text)
    fitted = time.perf_counter()
    result = ranker.rank(profiles, chunk_size=args.chunk)
    done = time.perf_counter()
    cpu = time.process_time() - cpu_start
    rss_after = max_rss_mb()
    picks = sum(len(v) for v in result.values())
    empty = sum(1 for v in result.values() if not v)
    expected = rank_processes.fingerprints(result) if args.rank_processes > 1 else {}
    # A worker does not hold yesterday's picks while it ranks today's.
    del result, ranker
    gc.collect()
    if not args.words_only:
        # The next day in the same worker: most of the vocabulary's terms are encoded already.
        again = time.perf_counter()
        Ranker.fit(papers, text=text).rank(profiles, chunk_size=args.chunk)
        print(
            f"the same day again in this process (terms encoded already, as on most of a "
            f"day's vocabulary): {time.perf_counter() - again:.2f} s, peak RSS "
            f"{max_rss_mb():.0f} MB"
        )
    print(
        f"paperboy: fit {fitted - start:.2f} s + rank {done - fitted:.2f} s "
        f"= {done - start:.2f} s wall ({cpu:.2f} s CPU; host load average {load:.1f} "
        f"on {os.cpu_count()} cores); {picks} picks, {empty} empty digests; "
        f"peak RSS {rss_after:.0f} MB (+{rss_after - rss_before:.0f} MB over the inputs)"
    )

    if args.rank_processes > 1:
        gc.collect()
        parent_rss = rank_processes.rss_mb()
        wall, figures = rank_processes.rank_in_processes(
            papers,
            profiles,
            text,
            chunk=args.chunk,
            processes=args.rank_processes,
            task=args.task_size,
        )
        print(
            rank_processes.report(
                wall, figures, parent_rss=parent_rss, task=args.task_size, expected=expected
            )
        )

    fit_svm, svm_seconds = svm_sample(papers, profiles, args.svm_sample, rng)
    per = svm_seconds / args.svm_sample
    projected = fit_svm + per * args.subscribers
    ours = done - start
    print(
        f"arxiv-sanity-lite style: tf-idf {fit_svm:.2f} s, {args.svm_sample} LinearSVCs in "
        f"{svm_seconds:.2f} s = {per * 1000:.1f} ms each -> {projected:.0f} s "
        f"({projected / 3600:.2f} h) for {args.subscribers} subscribers"
    )
    print(f"ratio: {projected / ours:.0f}x")
    print(f"after: {host_probe.probe()}")


if __name__ == "__main__":
    main()
