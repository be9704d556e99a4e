"""Profiles as sparse matrices: one row per subscriber, built in one cheap pass.

Keywords from every profile form one vocabulary; each distinct term is looked up in the
day's phrase index once, however many subscribers follow it. The same holds for
categories, authors, descriptions (deduplicated before vectorising) and feedback papers.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from .dropping import normalise_dropped
from .learner import WORD_FEATURES, answers_count
from .words import category_keys, parse_term, profile_author_keys

log = logging.getLogger(__name__)

if TYPE_CHECKING:
    from .ranker import Ranker
    from .types import Profile


@dataclass
class CompiledProfiles:
    profiles: Sequence[Profile]
    include: sparse.csr_matrix  # subscribers x terms, 1 where the term is wanted
    exclude: sparse.csr_matrix  # subscribers x terms, 1 where the term is excluded
    term_weights: sparse.csr_matrix  # papers x terms, the match weight (title counts more)
    term_labels: list[str]
    categories: sparse.csr_matrix  # subscribers x category keys
    authors: sparse.csr_matrix  # subscribers x author keys
    author_names: list[list[tuple[str, frozenset[int]]]]  # per subscriber: name, its key columns
    descriptions: sparse.csr_matrix  # subscribers x TF-IDF features (empty rows without one)
    has_description: np.ndarray
    # The distinct descriptions' encoder vectors and each subscriber's row among them (-1:
    # none), for the check that a matching paper's title is close in meaning; None: no check.
    description_vectors: np.ndarray | None
    description_of: np.ndarray
    # Rocchio terms: weights over feedback documents, and those documents x today's papers.
    liked: sparse.csr_matrix
    has_liked: np.ndarray
    disliked: sparse.csr_matrix
    has_disliked: np.ndarray
    feedback_similarity: np.ndarray
    feedback_columns: dict[int, int]  # paper id -> its row in feedback_similarity
    limits: np.ndarray
    sent: sparse.csr_matrix  # subscribers x papers, 1 where the paper was already sent
    # Learners: the weights of those who have one, each subscriber's row among them (-1:
    # none) and their number of answers.
    learners: np.ndarray  # encoder directions and biases
    learner_words: sparse.csr_matrix  # the word weights
    learner_of: np.ndarray
    answers: np.ndarray
    # Per subscriber, the share of the interests' weight in the order (1.0: all of it).
    interests_share: np.ndarray


def _indicator(rows: list[list[int]], width: int) -> sparse.csr_matrix:
    indptr = np.zeros(len(rows) + 1, dtype=np.int64)
    indptr[1:] = np.cumsum([len(r) for r in rows])
    indices = np.fromiter((c for r in rows for c in r), dtype=np.int32, count=int(indptr[-1]))
    data = np.ones(len(indices), dtype=np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(rows), max(width, 1)))


def compile_profiles(ranker: Ranker, profiles: Sequence[Profile]) -> CompiledProfiles:
    interests = _Interests(ranker)
    for profile in profiles:
        interests.add(profile)
    labels, description_of = interests.labels, interests.description_of
    # Each distinct description encoded once: for its nearest terms and for the title check.
    descriptions, stored = interests.descriptions, interests.description_vectors
    encoded = _description_vectors(ranker, descriptions, stored)
    description_rows = _description_rows(
        ranker,
        descriptions,
        description_of,
        encoded if encoded is not None else [stored.get(t) for t, _ in descriptions],
    )
    newest = ranker.weights.feedback_papers
    (liked, disliked), feedback_similarity, feedback_columns = ranker.feedback_weights(
        [p.liked[:newest] for p in profiles], [p.disliked[:newest] for p in profiles]
    )
    return CompiledProfiles(
        profiles=profiles,
        include=_indicator(interests.include, len(labels)),
        exclude=_indicator(interests.exclude, len(labels)),
        term_weights=_term_weights(ranker, interests.terms, len(labels)),
        term_labels=labels,
        categories=_indicator(interests.categories, len(ranker.category_vocab)),
        authors=_indicator(interests.authors, len(ranker.author_vocab)),
        author_names=interests.author_names,
        descriptions=description_rows,
        has_description=np.array([d >= 0 for d in description_of], dtype=bool),
        description_vectors=encoded,
        description_of=np.array(description_of, dtype=np.int64),
        liked=liked,
        has_liked=np.diff(liked.indptr) > 0,
        disliked=disliked,
        has_disliked=np.diff(disliked.indptr) > 0,
        feedback_similarity=feedback_similarity,
        feedback_columns=feedback_columns,
        limits=np.array([max(p.limit, 0) for p in profiles], dtype=np.int64),
        sent=_sent_matrix(ranker, profiles),
        **_learners(ranker, profiles),  # type: ignore[arg-type]  # names checked by tests
    )


def _learners(ranker: Ranker, profiles: Sequence[Profile]) -> dict[str, object]:
    """The learners' weights stacked (subscribers without one, or a day without the
    encoder's vectors, have none): encoder directions dense, word weights sparse."""
    have = [i for i, p in enumerate(profiles) if p.learner is not None]
    learner_of = np.full(len(profiles), -1, dtype=np.int64)
    if have and ranker.learner_features() is not None:
        learner_of[have] = np.arange(len(have))
        stacked = [learner for i in have if (learner := profiles[i].learner) is not None]
        directions = np.vstack([w.direction for w in stacked]).astype(np.float32)
        lengths = [len(w.word_features) for w in stacked]
        indptr = np.zeros(len(stacked) + 1, dtype=np.int64)
        indptr[1:] = np.cumsum(lengths)
        words = sparse.csr_matrix(
            (
                np.concatenate([w.word_weights for w in stacked]).astype(np.float32),
                np.concatenate([w.word_features for w in stacked]).astype(np.int32),
                indptr,
            ),
            shape=(len(stacked), WORD_FEATURES),
        )
    else:
        directions = np.zeros((0, 0), dtype=np.float32)
        words = sparse.csr_matrix((0, WORD_FEATURES), dtype=np.float32)
    cfg = ranker.learner
    answers = np.fromiter(
        (answers_count(len(p.liked), len(p.disliked), cfg) for p in profiles),
        dtype=np.float32,
        count=len(profiles),
    )
    share = np.ones(len(profiles), dtype=np.float32)
    confident = [
        i for i in have if learner_of[i] >= 0 and len(profiles[i].liked) >= cfg.confident_yes
    ]
    share[confident] = cfg.interests_share
    return {
        "learners": directions,
        "learner_words": words,
        "learner_of": learner_of,
        "answers": answers,
        "interests_share": share,
    }


_NO_NAMES: list[tuple[str, frozenset[int]]] = []


class _Interests:
    """Every profile's keywords, categories, authors and description as column lists.

    Interests repeat across subscribers: each distinct keyword, category and name is
    resolved once, and a profile is a few dictionary look-ups.
    """

    def __init__(self, ranker: Ranker) -> None:
        self.category_vocab, self.author_vocab = ranker.category_vocab, ranker.author_vocab
        self.terms: dict[tuple[str, ...], int] = {}
        self.labels: list[str] = []
        self.include: list[list[int]] = []
        self.exclude: list[list[int]] = []
        self.categories: list[list[int]] = []
        self.authors: list[list[int]] = []
        self.author_names: list[list[tuple[str, frozenset[int]]]] = []
        # Each distinct (description, dropped terms) pair, and its row among them.
        self.descriptions: dict[tuple[str, tuple[str, ...]], int] = {}
        self.description_vectors: dict[str, np.ndarray] = {}
        self.description_of: list[int] = []
        self._keywords: dict[str, tuple[int, bool] | None] = {}
        self._categories: dict[str, int | None] = {}
        self._authors: dict[str, frozenset[int]] = {}

    def add(self, profile: Profile) -> None:
        self._add_keywords(profile.keywords)
        self._add_categories(profile.categories)
        self._add_authors(profile.authors)
        text = profile.description.strip() if profile.description else ""
        key = (text, normalise_dropped(profile.dropped_terms) if profile.dropped_terms else ())
        self.description_of.append(
            self.descriptions.setdefault(key, len(self.descriptions)) if text else -1
        )
        if text and profile.description_vector is not None:
            self.description_vectors[text] = profile.description_vector

    def _add_keywords(self, keywords: Sequence[str]) -> None:
        wanted: list[int] = []
        unwanted: list[int] = []
        cache = self._keywords
        for raw in keywords:
            hit = cache[raw] if raw in cache else cache.setdefault(raw, self._keyword(raw))
            if hit is not None:
                (unwanted if hit[1] else wanted).append(hit[0])
        self.include.append(list(dict.fromkeys(wanted)) if len(wanted) > 1 else wanted)
        self.exclude.append(list(dict.fromkeys(unwanted)) if len(unwanted) > 1 else unwanted)

    def _keyword(self, raw: str) -> tuple[int, bool] | None:
        term = parse_term(raw)
        if term is None:
            return None
        if term.tokens not in self.terms:
            self.terms[term.tokens] = len(self.labels)
            self.labels.append(term.label)
        return self.terms[term.tokens], term.exclude

    def _add_categories(self, categories: Sequence[str]) -> None:
        cols: list[int] = []
        cache = self._categories
        for raw in categories:
            col = cache[raw] if raw in cache else cache.setdefault(raw, self._category(raw))
            if col is not None and col not in cols:
                cols.append(col)
        self.categories.append(cols)

    def _category(self, raw: str) -> int | None:
        keys = category_keys(raw)
        return self.category_vocab.get(keys[0]) if keys else None

    def _add_authors(self, authors: Sequence[str]) -> None:
        if not authors:
            self.authors.append([])
            self.author_names.append(_NO_NAMES)
            return
        names: list[tuple[str, frozenset[int]]] = []
        cols: set[int] = set()
        cache = self._authors
        for name in authors:
            keys = cache.get(name)
            if keys is None:
                found = profile_author_keys(name)
                keys = cache[name] = frozenset(
                    self.author_vocab[k] for k in found if k in self.author_vocab
                )
            if keys:
                names.append((name.strip(), keys))
                cols |= keys
        self.authors.append(list(cols))
        self.author_names.append(names)


def _term_weights(
    ranker: Ranker, terms: dict[tuple[str, ...], int], n_terms: int
) -> sparse.csr_matrix:
    """Papers x terms: the weight of each paper's match (in the title it counts more)."""
    columns = [ranker.term_column(words) for words in terms]
    empty = np.zeros(0, dtype=np.int64)
    rows = np.concatenate([empty, *(papers for papers, _ in columns)])
    cols = np.repeat(
        np.fromiter(terms.values(), dtype=np.int64, count=len(terms)),
        [len(papers) for papers, _ in columns],
    )
    vals = np.concatenate([empty.astype(np.float32), *(weights for _, weights in columns)])
    return sparse.csr_matrix((vals, (rows, cols)), shape=(len(ranker.papers), max(n_terms, 1)))


def _sent_matrix(ranker: Ranker, profiles: Sequence[Profile]) -> sparse.csr_matrix:
    """Papers already sent, as positions in today's pool, built without a loop per paper."""
    n, n_papers = len(profiles), len(ranker.papers)
    lengths = np.fromiter((len(p.already_sent) for p in profiles), dtype=np.int64, count=n)
    ids = np.fromiter(
        chain.from_iterable(p.already_sent for p in profiles), dtype=np.int64, count=lengths.sum()
    )
    positions = ranker.positions(ids)
    found = positions >= 0
    rows = np.repeat(np.arange(n), lengths)[found]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    data = np.ones(int(found.sum()), dtype=bool)
    return sparse.csr_matrix((data, positions[found], indptr), shape=(n, max(n_papers, 1)))


def _description_vectors(
    ranker: Ranker,
    descriptions: dict[tuple[str, tuple[str, ...]], int],
    vectors: dict[str, np.ndarray],
) -> np.ndarray | None:
    """The distinct descriptions' encoder vectors (stored ones as given), with the day's title
    vectors made ready for the title check; None when neither the nearest terms nor the
    check is on, or the encoder is unavailable or fails (words decide alone)."""
    text, cfg = ranker.text, ranker.text.config
    if not descriptions or text.papers is None:
        return None
    if cfg.semantic_gate <= 0 and (cfg.semantic_weight <= 0 or cfg.semantic_terms <= 0):
        return None
    try:
        texts = [t for t, _ in descriptions]
        dense = text.text_vectors(texts, [vectors.get(t) for t in texts])
        if dense is not None and cfg.semantic_gate > 0:
            text.title_vectors()
    except Exception:
        log.exception("descriptions not encoded today; words decide alone")
        return None
    return dense


def _description_rows(
    ranker: Ranker,
    descriptions: dict[tuple[str, tuple[str, ...]], int],
    description_of: list[int],
    vectors: np.ndarray | Sequence[np.ndarray | None],
) -> sparse.csr_matrix:
    """Each distinct description vectorised once, then spread to its subscribers' rows."""
    width = ranker.text.papers.shape[1] if ranker.text.papers is not None else 0
    if not descriptions or width == 0:
        return sparse.csr_matrix((len(description_of), width), dtype=np.float32)
    texts = [t for t, _ in descriptions]
    unique = ranker.text.queries(texts, vectors, [d for _, d in descriptions])
    owners = [i for i, d in enumerate(description_of) if d >= 0]
    spread = sparse.csr_matrix(
        (
            np.ones(len(owners), dtype=np.float32),
            (owners, [description_of[i] for i in owners]),
        ),
        shape=(len(description_of), len(descriptions)),
    )
    return (spread @ unique).tocsr()
