"""Scoring a chunk of subscribers against all papers as matrix work, then the top few, explained.

Dense blocks are chunk x papers, so memory stays bounded however many subscribers there are.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

try:  # private, used for speed only (see word_scores)
    from scipy.sparse._sparsetools import csr_matmat
except ImportError:  # pragma: no cover - a SciPy without it
    csr_matmat = None

from .learner import learner_relevance
from .reasons import Explainer, PaperFacts
from .types import Pick

if TYPE_CHECKING:
    from .profiles import CompiledProfiles
    from .ranker import Ranker

log = logging.getLogger(__name__)


class DayMatrices:
    """The day's papers in the layout the chunk products want, built once a day (a send
    worker ranks the day in many calls) and kept by the Ranker; see `_Day`."""

    def __init__(self, ranker: Ranker) -> None:
        # Category keys x papers is small enough to keep dense (see `_Day`).
        self.categories = np.ascontiguousarray(ranker.category_matrix.T.toarray())
        self.authors_t = ranker.author_matrix.T.tocsr()
        self.neg_trend = (-ranker.weights.trending * ranker.trend)[None, :].astype(np.float32)
        self.facts = PaperFacts(ranker)


class _Day:
    """Per-call matrices in the layout the chunk products want (dense where that is small)."""

    def __init__(self, ranker: Ranker, cp: CompiledProfiles, floor: float) -> None:
        # Terms x papers and category keys x papers are small enough to keep dense, which
        # turns the two hottest products into sparse x dense with a dense result.
        # C order: scipy copies an F-ordered dense operand on every product.
        self.terms = np.ascontiguousarray(cp.term_weights.T.toarray())
        self.term_any = (self.terms > 0).astype(np.float32)
        daily = ranker.day_matrices()
        self.categories, self.authors_t, self.neg_trend = (
            daily.categories,
            daily.authors_t,
            daily.neg_trend,
        )
        self.facts = daily.facts
        self.floor = floor  # the least relevance a pick needs
        self.has_exclude = np.diff(cp.exclude.indptr) > 0
        self.has_author = np.diff(cp.authors.indptr) > 0
        self.has_category = np.diff(cp.categories.indptr) > 0


def _similar(ranker: Ranker, queries, weight: float, documents=None) -> np.ndarray:
    """Similarity of text queries, or of feedback weights over `documents`, as relevance."""
    w = ranker.weights
    if documents is None:
        sims = ranker.text.similarity(queries)
    else:
        # Paper-to-paper TF-IDF cosines are reliable on their own (long texts share words);
        # the LSA blend is there for short descriptions, so feedback skips it.
        sims = np.asarray(queries @ documents, dtype=np.float32)
    sims *= weight / w.similar_full
    return np.clip(sims, 0.0, weight * w.similar_cap, out=sims)


class Part:
    """A block of relevance for some rows of a chunk only (most subscribers lack most parts)."""

    def __init__(self, rows: np.ndarray, block: np.ndarray) -> None:
        self.rows, self.block = rows, block

    def at(self, top: np.ndarray, n_rows: int) -> list[list[float] | None]:
        """This part's values at each row's top papers (None for rows it does not cover)."""
        values: list[list[float] | None] = [None] * n_rows
        picked = np.take_along_axis(self.block, top[self.rows], axis=1).tolist()
        for r, row in zip(self.rows.tolist(), picked, strict=True):
            values[r] = row
        return values


def _text_part(ranker, matrix, present, a, b, weight, documents=None) -> Part | None:
    rows = np.flatnonzero(present[a:b])
    if rows.size == 0 or ranker.text.papers is None:
        return None
    return Part(rows, _similar(ranker, matrix[a:b][rows], weight, documents))


def _match_part(left: sparse.csr_matrix, present: np.ndarray, right) -> Part | None:
    """Rows of left @ right (a sparse interest matrix against papers) where left has entries."""
    rows = np.flatnonzero(present)
    if rows.size == 0:
        return None
    product = left[rows] @ right
    return Part(rows, product.toarray() if sparse.issparse(product) else np.asarray(product))


def score_chunk(ranker: Ranker, cp: CompiledProfiles, day: _Day, a: int, b: int):
    """Negated scores of subscribers a..b against every paper (+inf where not eligible),
    and the description and feedback parts that the reasons mention."""
    w = ranker.weights
    rel = np.asarray(cp.include[a:b] @ day.terms, dtype=np.float32)
    for part, weight in (
        (_match_part(cp.categories[a:b], day.has_category[a:b], day.categories), w.category),
        (_match_part(cp.authors[a:b], day.has_author[a:b], day.authors_t), w.author),
    ):
        if part is not None:
            rel[part.rows] += weight * (part.block > 0)
    documents = cp.feedback_similarity
    description = _text_part(ranker, cp.descriptions, cp.has_description, a, b, w.description)
    meaning = None
    if description is not None and cp.description_vectors is not None:
        own = cp.description_vectors[cp.description_of[a + description.rows]]
        if ranker.text.config.semantic_gate > 0:
            # Words alone are not a match unless the title is also close in meaning.
            far = ranker.text.title_closeness(own) < ranker.text.config.semantic_gate
            description.block[far] = 0
        meaning = _meaning(ranker, own)
    liked = _text_part(ranker, cp.liked, cp.has_liked, a, b, w.liked, documents)
    disliked = _text_part(ranker, cp.disliked, cp.has_disliked, a, b, w.disliked, documents)
    learned = _learner_part(ranker, cp, a, b)
    if description is not None:
        rel[description.rows] += description.block
    # Subscribers sure of their answers: their interests count less in the order (below).
    confident = np.flatnonzero(cp.interests_share[a:b] < 1.0)
    interests = rel[confident]
    for part in (liked, learned):
        if part is not None:
            rel[part.rows] += part.block
    if disliked is not None:
        rel[disliked.rows] -= disliked.block
    ineligible = rel < day.floor
    if meaning is not None and description is not None:
        # Part of the interests, so it counts at their share, like the rest of them.
        meaning *= cp.interests_share[a + description.rows][:, None]
        rel[description.rows] += meaning
    if confident.size:
        interests *= (1.0 - cp.interests_share[a + confident])[:, None]
        rel[confident] -= interests
    # The cut wants the smallest values first: negate here, in place, with the trending lift.
    cost = np.subtract(day.neg_trend, rel, out=rel)
    _set_infinite(cost, ineligible)
    excluded = _match_part(cp.exclude[a:b], day.has_exclude[a:b], day.term_any)
    if excluded is not None:
        block = cost[excluded.rows]
        block[excluded.block > 0] = np.inf
        cost[excluded.rows] = block
    sent = cp.sent[a:b]
    cost[np.repeat(np.arange(b - a), np.diff(sent.indptr)), sent.indices] = np.inf
    return cost, description, liked, learned


# Fewer papers than this, and a paper's standing among them says little.
_MEANING_MIN_PAPERS = 20


def _meaning(ranker: Ranker, descriptions: np.ndarray) -> np.ndarray | None:
    """How much closer in meaning than the day's typical paper each paper is to each
    description (rows), as relevance: the encoder's cosine of the description to the
    paper's title and opening words, in standard deviations over the day's papers.

    Words and nearest terms find the papers that say what the description says; this
    orders them by what the whole paper is about. None without the papers' vectors."""
    w = ranker.weights
    features = ranker.learner_features()
    if w.meaning <= 0 or features is None or features.shape[1] < _MEANING_MIN_PAPERS:
        return None
    closeness = descriptions @ features[:-1]  # the last row is the learners' bias
    closeness -= closeness.mean(axis=1, keepdims=True)
    spread = closeness.std(axis=1, keepdims=True)
    closeness /= np.where(spread > 0, spread, 1)
    closeness -= w.meaning_start
    closeness *= w.meaning / (w.meaning_full - w.meaning_start)
    return np.clip(closeness, 0.0, w.meaning * w.similar_cap, out=closeness)


# +inf as float32 bits.
_INFINITE_BITS = np.uint32(0x7F800000)


def _set_infinite(values: np.ndarray, mask: np.ndarray) -> None:
    """`values[mask] = np.inf` for a C-ordered float32 array, without branches: most of a
    chunk's papers are ineligible, in no order, and the masked assignment mispredicted a
    branch on every other element (2.5 ms a chunk of 500; this 0.5 ms). Same bits."""
    assert values.dtype == np.float32 and values.flags.c_contiguous, "float32 bits only"
    ones = mask.view(np.uint8).astype(np.uint32)
    np.negative(ones, out=ones)  # all bits set where the mask is
    bits = values.view(np.uint32)
    bits &= ~ones
    ones &= _INFINITE_BITS
    bits |= ones


def _learner_part(ranker: Ranker, cp: CompiledProfiles, a: int, b: int) -> Part | None:
    """What each subscriber's learner makes of every paper, as relevance."""
    rows = np.flatnonzero(cp.learner_of[a:b] >= 0)
    if rows.size == 0:
        return None
    which = cp.learner_of[a + rows]
    z = cp.learners[which] @ ranker.learner_features()
    z += word_scores(cp.learner_words[which], ranker.learner_words())
    return Part(rows, learner_relevance(z, cp.answers[a + rows], ranker.learner))


def word_scores(weights: sparse.csr_matrix, papers: sparse.csr_matrix) -> np.ndarray:
    """Learners' word weights (learners x features) times the papers' hashed words
    (features x papers), as a dense float32 block. The product is dense: every learner
    weighs a few common words (see `dense_product`)."""
    return dense_product(weights, papers)


def dense_product(weights: sparse.csr_matrix, papers: sparse.csr_matrix) -> np.ndarray:
    """`(weights @ papers).toarray()` for a product whose result is (nearly) dense.

    SciPy's first pass, which counts the result's entries to size it, is then wasted work
    (40 % of the product): the kernel writes straight into room for every entry. The same
    kernel, so the same sums in the same order, as the public product, the fallback."""
    m, n = weights.shape[0], papers.shape[1]
    if csr_matmat is None or weights.dtype != np.float32 or papers.dtype != np.float32:
        return (weights @ papers).toarray()
    index = np.int32 if max(m * n, weights.nnz, papers.nnz) < 2**31 else np.int64
    indptr = np.empty(m + 1, dtype=index)
    columns = np.empty(m * n, dtype=index)
    values = np.empty(m * n, dtype=np.float32)
    try:
        csr_matmat(
            m,
            n,
            *(np.asarray(a, dtype=index) for a in (weights.indptr, weights.indices)),
            weights.data,
            *(np.asarray(a, dtype=index) for a in (papers.indptr, papers.indices)),
            papers.data,
            indptr,
            columns,
            values,
        )
    except (TypeError, ValueError):  # its signature changed: the public path, same sums
        log.warning("SciPy's csr_matmat changed; multiplying publicly")
        return (weights @ papers).toarray()
    nnz = int(indptr[-1])
    return sparse.csr_matrix((values[:nnz], columns[:nnz], indptr), shape=(m, n)).toarray()


@dataclass
class _Cut:
    """One chunk scored and cut to each digest, as plain lists for the Python that follows."""

    top: list[list[int]]
    values: list[list[float]]
    counts: list[int]
    # Per row, the description and feedback relevance at its top papers, for the reasons.
    description: list[list[float] | None]
    liked: list[list[float] | None]
    learned: list[list[float] | None]


def _score_and_cut(ranker: Ranker, cp: CompiledProfiles, day: _Day, a: int, b: int) -> _Cut:
    cost, description, liked, learned = score_chunk(ranker, cp, day, a, b)
    limits = cp.limits[a:b]
    kmax = int(min(cost.shape[1], limits.max(initial=0)))
    if kmax == 0:
        return _Cut([], [], [0] * (b - a), [], [], [])
    # Equal at the precision a pick shows are equal: the float noise of a chunk's products
    # depends on the chunk's size, and must not decide between a subscriber's papers.
    np.round(cost, 4, out=cost)
    top = np.argpartition(cost, kmax - 1, axis=1)[:, :kmax]
    costs = np.take_along_axis(cost, top, axis=1)
    _earlier_papers_on_ties(cost, top, costs)
    # Best first; equal scores in paper order so the result is deterministic.
    order = np.lexsort((top, costs), axis=1)
    top = np.take_along_axis(top, order, axis=1)
    costs = np.take_along_axis(costs, order, axis=1)
    counts = np.minimum(np.isfinite(costs).sum(axis=1), limits).tolist()
    costs[~np.isfinite(costs)] = 0
    rounded = np.round(-costs.astype(np.float64), 4).tolist()
    none: list[list[float] | None] = [None] * (b - a)
    return _Cut(
        top.tolist(),
        rounded,
        counts,
        description.at(top, b - a) if description is not None else none,
        liked.at(top, b - a) if liked is not None else none,
        learned.at(top, b - a) if learned is not None else none,
    )


def _earlier_papers_on_ties(cost: np.ndarray, top: np.ndarray, costs: np.ndarray) -> None:
    """argpartition cuts a tie at the last place anywhere: where papers outside a row's cut
    score as its last one, the cut takes the tied papers in paper order (in place), so a
    subscriber gets the same papers alone (the preview) as among a worker's 500."""
    last = costs.max(axis=1)
    held = (cost <= last[:, None]).sum(axis=1)
    for r in np.flatnonzero(np.isfinite(last) & (held > top.shape[1])).tolist():
        better = np.flatnonzero(cost[r] < last[r])
        tied = np.flatnonzero(cost[r] == last[r])
        top[r] = np.concatenate([better, tied[: top.shape[1] - len(better)]])
        costs[r] = cost[r, top[r]]


def rank_compiled(
    ranker: Ranker, cp: CompiledProfiles, *, chunk_size: int, floor: float | None = None
) -> dict[int, list]:
    """Picks per subscriber id, chunk after chunk: matrix work, then Python for the picks.
    `floor`: the least relevance a pick needs, when not the ranker's.

    (A worker thread scoring the next chunk while this one built picks gained nothing
    measurable: building picks holds the GIL, and the worker's many numpy calls each wait
    to take it back.)
    """
    day = _Day(ranker, cp, ranker.floor if floor is None else floor)
    explain = Explainer(ranker, cp, day.facts)
    result: dict[int, list[Pick]] = {}
    paper_ids = [p.id for p in ranker.papers]
    profiles = cp.profiles
    for a in range(0, len(profiles), chunk_size):
        cut = _score_and_cut(ranker, cp, day, a, min(a + chunk_size, len(profiles)))
        explain.prepare(a, cut.top)
        for r, n in enumerate(cut.counts):
            s = a + r
            if not n:
                result[profiles[s].subscriber_id] = []
                continue
            cols = cut.top[r][:n]
            reasons = explain(s, cols, cut.description[r], cut.liked[r], cut.learned[r])
            ids = [paper_ids[c] for c in cols]
            result[profiles[s].subscriber_id] = list(
                map(Pick._make, zip(ids, cut.values[r][:n], reasons, strict=True))
            )
    return result
