"""A small model per subscriber, fitted on the papers they said yes and no to.

Keywords and a description say what a subscriber wants in a few words; their answers
("more like this", "not for me", a pasted example) say it with whole papers. The learner
turns those answers into one direction in the sentence encoder's space (`digest.semantic`),
where papers on one topic sit close together whatever words they use, so that two liked
distillation papers find the other fifty distillation papers of the day.

The model is linear discriminant analysis with a shared, shrunk covariance: the papers'
spread (the "background") is estimated once from a sample of recent papers, and a
subscriber's model is that covariance's inverse applied to the difference between the
mean of what they liked (their own interests' text counting as one more liked example)
and the mean of what they did not (every paper they never answered counting, a little, as
a "no"). Fitting is one matrix-vector product, so thousands of subscribers refit in a
second, and the result is the same whichever day it is fitted on.

A score is expressed in standard deviations above the typical paper, so it means the same
on any day's pool: the weights are scaled so that the background papers score 0 on average
with spread 1. Stored as DIMENSIONS + 1 float16 (770 bytes): the direction, then the bias.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from .text import TextModel
    from .types import PaperDoc

log = logging.getLogger(__name__)

DIMENSIONS = 384  # the encoder's (digest.semantic.DIMENSIONS), checked when fitting


@dataclass(frozen=True)
class LearnerConfig:
    """The learner's settings (chosen on the development profiles: docs/benchmarks/ranking.md)."""

    # Ridge added to the background covariance, as a share of its mean variance.
    shrinkage: float = 10.0
    # The background's mean counts as this many "no" answers beside the real ones.
    background_weight: float = 2.0
    # The subscriber's own interests' text (its encoder vector) counts as this many "yes".
    prior_weight: float = 1.0
    # Relevance at z_full, for a subscriber with `answers_full` answers or more; fewer
    # answers count proportionally less (one answer is a hint, ten are a statement).
    weight: float = 1.5
    answers_full: int = 2
    # A "no" counts as this much of an answer there: noes alone say what is not wanted,
    # not what is, and must not outweigh the interests.
    no_answer: float = 1.0
    cap: float = 2.0
    # The score (standard deviations above a typical paper) adds nothing below z_start,
    # rises linearly to `weight` at z_full and on to `cap` times that; as far below the
    # typical paper it subtracts, down to -weight.
    z_start: float = 1.5
    z_full: float = 3.5
    # What of a paper the encoder reads: "title" (encoded for the title check already)
    # or "title+abstract" (the abstract's first sentences too; slower to encode).
    features: str = "title+abstract"


@dataclass(frozen=True)
class Background:
    """The papers' spread in the encoder's space, from a sample of recent papers."""

    mean: np.ndarray  # (d,)
    covariance: np.ndarray  # (d, d)
    precision: np.ndarray  # (covariance + ridge)^-1

    @classmethod
    def from_vectors(cls, vectors: np.ndarray, shrinkage: float = 0.5) -> Background:
        x = np.asarray(vectors, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError("a background needs at least two paper vectors")
        mean = x.mean(axis=0)
        covariance = np.cov(x, rowvar=False)
        ridge = shrinkage * float(np.trace(covariance)) / x.shape[1]
        precision = np.linalg.inv(covariance + ridge * np.eye(x.shape[1]))
        return cls(mean, covariance, precision)


def learner_fit(
    liked: np.ndarray,
    disliked: np.ndarray,
    background: Background,
    prior: np.ndarray | None = None,
    config: LearnerConfig | None = None,
) -> np.ndarray:
    """The weights (direction, then bias) of one subscriber's model, as float32.

    `liked` and `disliked` are the encoder vectors of the answered papers (rows, maybe
    none); `prior` the vector of the subscriber's interests' own text, if any.
    """
    cfg = config or LearnerConfig()
    d = background.mean.shape[0]
    positives = [np.asarray(liked, dtype=np.float64).reshape(-1, d)]
    weights = [np.ones(positives[0].shape[0])]
    if prior is not None and cfg.prior_weight > 0:
        positives.append(np.asarray(prior, dtype=np.float64).reshape(1, d))
        weights.append(np.array([cfg.prior_weight]))
    pos_w = np.concatenate(weights)
    if pos_w.sum() == 0:
        return np.zeros(d + 1, dtype=np.float32)
    pos = np.average(np.vstack(positives), axis=0, weights=pos_w)
    no = np.asarray(disliked, dtype=np.float64).reshape(-1, d)
    neg = (no.sum(axis=0) + cfg.background_weight * background.mean) / (
        no.shape[0] + cfg.background_weight
    )
    direction = background.precision @ (pos - neg)
    spread = float(np.sqrt(max(direction @ background.covariance @ direction, 1e-12)))
    direction /= spread
    bias = -float(direction @ background.mean)
    return np.append(direction, bias).astype(np.float32)


def learners_fit(
    answers: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray | None]],
    background: Background,
    config: LearnerConfig | None = None,
) -> list[np.ndarray]:
    """Many subscribers' models: (liked, disliked, prior) each."""
    return [learner_fit(lk, dl, background, pr, config) for lk, dl, pr in answers]


def answers_count(liked: int, disliked: int, config: LearnerConfig) -> float:
    return liked + config.no_answer * disliked


def learner_relevance(
    z: np.ndarray, answers: np.ndarray, config: LearnerConfig | None = None
) -> np.ndarray:
    """Scores in standard deviations (rows: subscribers) to relevance, in place.

    Only clear signals count: a paper gains from `z_start` standard deviations above the
    typical paper, and loses from as far below it; in between it neither gains nor loses.
    `answers` is each row's number of answers; the learner's say grows with it.
    """
    cfg = config or LearnerConfig()
    say = cfg.weight * np.minimum(answers / cfg.answers_full, 1.0).astype(np.float32)
    span = cfg.z_full - cfg.z_start
    low = np.clip((z + cfg.z_start) / span, -1.0, 0.0)
    z -= cfg.z_start
    z /= span
    np.clip(z, 0.0, cfg.cap, out=z)
    z += low
    z *= say[:, None]
    return z


def paper_text(title: str, abstract: str, features: str) -> str:
    """The text of a paper the learner reads: its title, or its title and first sentences."""
    if features == "title":
        return title
    # The opening sentences carry the topic; the encoder reads at most 256 word pieces.
    return f"{title}. {' '.join(abstract.split()[:60])}"


def paper_features(
    text: TextModel, papers: Sequence[PaperDoc], config: LearnerConfig
) -> np.ndarray | None:
    """(dimensions + 1) x papers, C order: the papers' encoder vectors, then a row of ones."""
    encoder = text.encoder()
    if encoder is None or not papers:
        return None
    try:
        if config.features == "title" and text.papers is not None:
            vectors = text.title_vectors()
        else:
            vectors = encoder.encode_terms(
                [paper_text(p.title, p.abstract, config.features) for p in papers]
            )
    except Exception:  # the day's digests go out without the learners
        log.exception("papers not encoded for the learners today")
        return None
    out = np.ones((vectors.shape[1] + 1, len(papers)), dtype=np.float32)
    out[:-1] = vectors.T
    return out


def to_bytes(weights: np.ndarray) -> bytes:
    return np.asarray(weights, dtype="<f2").tobytes()


def from_bytes(data: bytes) -> np.ndarray | None:
    if len(data) != (DIMENSIONS + 1) * 2:
        return None
    return np.frombuffer(data, dtype="<f2").astype(np.float32)
