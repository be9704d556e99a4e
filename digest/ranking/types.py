"""The ranking's value types: what the rest of Paperboy hands in and gets back.

They live first, apart from the code, so every ranking module can import them without a
cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

import numpy as np


@dataclass(frozen=True)
class PaperDoc:
    id: int
    arxiv_id: str
    title: str
    abstract: str
    authors: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    upvotes: int = 0
    upvote_growth: int = 0
    announced_on: date | None = None


@dataclass(frozen=True, eq=False)
class LearnerWeights:
    """A subscriber's learner (digest.ranking.learner): the encoder direction then the bias,
    and the heaviest hashed word features with their weights."""

    direction: np.ndarray  # (dimensions + 1,) float32
    word_features: np.ndarray  # (k,) int64, ascending
    word_weights: np.ndarray  # (k,) float32

    @classmethod
    def empty(cls, dimensions: int) -> LearnerWeights:
        return cls(
            np.zeros(dimensions + 1, np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32)
        )


@dataclass(frozen=True)
class Profile:
    subscriber_id: int
    categories: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    description: str = ""
    # Terms the subscriber dropped from the reading of their description (reading.py):
    # removed from its words and its expansions, so they no longer count.
    dropped_terms: tuple[str, ...] = ()
    limit: int = 10
    already_sent: frozenset[int] = frozenset()
    liked: tuple[PaperDoc, ...] = field(default=())
    disliked: tuple[PaperDoc, ...] = field(default=())
    # The description's sentence-encoder vector, stored when it was written (None: encode it).
    description_vector: np.ndarray | None = field(default=None, compare=False, hash=False)
    # The subscriber's learner (digest.ranking.learner): weights fitted on their answers.
    learner: LearnerWeights | None = field(default=None, compare=False, hash=False)


class Pick(NamedTuple):
    """A million of them a day: a tuple is built in half the time of a frozen dataclass."""

    paper_id: int
    score: float
    reason: str


# Relevance a paper needs before it can be picked at all; below it, a quiet day stays quiet.
RELEVANCE_FLOOR = 0.45
relevance_floor = RELEVANCE_FLOOR
# The papers step shows every paper the interests and answers do not push below zero,
# closest first: papers to answer need not be worth a digest.
SUGGESTION_FLOOR = 0.0


@dataclass(frozen=True)
class Weights:
    """How much each kind of match is worth. One keyword match anywhere is 1.0."""

    keyword: float = 1.0
    keyword_in_title: float = 1.5
    author: float = 1.5
    category: float = 0.5
    # Text similarity (cosine) counts as a full match at `similar_full`, linearly below it.
    description: float = 1.0
    liked: float = 0.8
    disliked: float = 0.8
    # The Rocchio terms use a subscriber's newest answers only, this many each way: their
    # cost grows with the square of the count, and the learner reads all of them.
    feedback_papers: int = 10
    similar_full: float = 0.2
    similar_cap: float = 1.5
    # A description's closeness in meaning to a whole paper (the sentence encoder over its
    # title and opening words), in standard deviations above the day's typical paper: it
    # counts from `meaning_start`, fully at `meaning_full` (capped at `similar_cap`), and
    # orders the papers the description matches without making any other paper eligible.
    meaning: float = 1.0
    meaning_start: float = 1.5
    meaning_full: float = 3.5
    # Trending adds at most this much: it reorders matches of similar strength, and it is
    # added after the floor is applied, so it never makes a non-matching paper eligible.
    trending: float = 0.5
    upvotes_full: int = 100
    growth_full: int = 30
    recency_half_life_days: float = 3.0
