"""Scoring a chunk of subscribers against all papers as matrix work, then the top few, explained.

Dense blocks are chunk x papers, so memory stays bounded however many subscribers there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from .learner import learner_relevance, word_scores
from .types import Pick
from .words import category_keys

if TYPE_CHECKING:
    from .profiles import CompiledProfiles
    from .ranker import Ranker

# A component is named in the reason once it is worth this much relevance.
_MENTION = 0.2


class _Day:
    """Per-call matrices in the layout the chunk products want (dense where that is small)."""

    def __init__(self, ranker: Ranker, cp: CompiledProfiles) -> None:
        # Terms x papers and category keys x papers are small enough to keep dense, which
        # turns the two hottest products into sparse x dense with a dense result.
        # C order: scipy copies an F-ordered dense operand on every product.
        self.terms = np.ascontiguousarray(cp.term_weights.T.toarray())
        self.term_any = (self.terms > 0).astype(np.float32)
        self.categories = np.ascontiguousarray(ranker.category_matrix.T.toarray())
        self.authors_t = ranker.author_matrix.T.tocsr()
        self.has_exclude = np.diff(cp.exclude.indptr) > 0
        self.neg_trend = (-ranker.weights.trending * ranker.trend)[None, :].astype(np.float32)
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
    if description is not None and cp.description_vectors is not None:
        # Words alone are not a match unless the title is also close in meaning.
        own = cp.description_vectors[cp.description_of[a + description.rows]]
        far = ranker.text.title_closeness(own) < ranker.text.config.semantic_gate
        description.block[far] = 0
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
    ineligible = rel < ranker.floor
    if confident.size:
        interests *= (1.0 - cp.interests_share[a + confident])[:, None]
        rel[confident] -= interests
    # The cut wants the smallest values first: negate here, in place, with the trending lift.
    cost = np.subtract(day.neg_trend, rel, out=rel)
    cost[ineligible] = np.inf
    excluded = _match_part(cp.exclude[a:b], day.has_exclude[a:b], day.term_any)
    if excluded is not None:
        block = cost[excluded.rows]
        block[excluded.block > 0] = np.inf
        cost[excluded.rows] = block
    sent = cp.sent[a:b]
    cost[np.repeat(np.arange(b - a), np.diff(sent.indptr)), sent.indices] = np.inf
    return cost, description, liked, learned


def _learner_part(ranker: Ranker, cp: CompiledProfiles, a: int, b: int) -> Part | None:
    """What each subscriber's learner makes of every paper, as relevance."""
    rows = np.flatnonzero(cp.learner_of[a:b] >= 0)
    if rows.size == 0:
        return None
    which = cp.learner_of[a + rows]
    z = cp.learners[which] @ ranker.learner_features()
    z += word_scores(cp.learner_words[which], ranker.learner_words())
    return Part(rows, learner_relevance(z, cp.answers[a + rows], ranker.learner))


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
    top = np.argpartition(cost, kmax - 1, axis=1)[:, :kmax]
    costs = np.take_along_axis(cost, top, axis=1)
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


def rank_compiled(ranker: Ranker, cp: CompiledProfiles, *, chunk_size: int) -> dict[int, list]:
    """Picks per subscriber id, chunk after chunk: matrix work, then Python for the picks.

    (A worker thread scoring the next chunk while this one built picks gained nothing
    measurable: building picks holds the GIL, and the worker's many numpy calls each wait
    to take it back.)
    """
    day = _Day(ranker, cp)
    explain = _Explainer(ranker, cp)
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
            result[profiles[s].subscriber_id] = [
                Pick(paper_ids[c], v, why)
                for c, v, why in zip(cols, cut.values[r][:n], reasons, strict=True)
            ]
    return result


class _Explainer:
    """Builds "matches 'distillation' · cs.CL · 48 upvotes" for one subscriber's picks."""

    def __init__(self, ranker: Ranker, cp: CompiledProfiles) -> None:
        self.cp = cp
        self.ranker = ranker
        self.paper_terms = _row_sets(cp.term_weights)
        self.paper_authors = _row_sets(ranker.author_matrix)
        vocab = ranker.category_vocab
        self.paper_categories = [
            [(c, {vocab.get(k) for k in category_keys(c)}) for c in p.categories]
            for p in ranker.papers
        ]
        self.upvotes = [
            " · " + f"{p.upvotes} upvote" + ("" if p.upvotes == 1 else "s") if p.upvotes else ""
            for p in ranker.papers
        ]
        self.quoted = [f"'{label}'" for label in cp.term_labels]
        self.include = (cp.include.indptr.tolist(), cp.include.indices.tolist())
        self.categories = (cp.categories.indptr.tolist(), cp.categories.indices.tolist())
        self.keyword_reasons: dict[tuple[int, ...], dict[int, str]] = {}
        self.categories_shown: dict[frozenset[int], list[str | None]] = {}
        # Per subscriber of the chunk who liked several papers: their titles, and which
        # one is nearest each of their top papers (`prepare`).
        self.liked: dict[int, list[str]] = {}
        self.nearest: dict[int, list[int]] = {}

    def __call__(
        self,
        s: int,
        cols: list[int],
        d_row: list[float] | None,
        l_row: list[float] | None,
        m_row: list[float] | None = None,
    ) -> list[str]:
        cp, upvotes, paper_terms, quoted = self.cp, self.upvotes, self.paper_terms, self.quoted
        indptr, indices = self.include
        terms = indices[indptr[s] : indptr[s + 1]]
        names = cp.author_names[s]
        indptr, indices = self.categories
        a, b = indptr[s], indptr[s + 1]
        wanted = frozenset(indices[a:b]) if b > a else None
        if not (names or wanted or d_row or l_row or m_row):
            return self._keywords_only(terms, cols)
        shown = self._shown(wanted) if wanted else None
        reasons = []
        examples: list[str] | None = None
        for j, c in enumerate(cols):
            parts = []
            if terms:
                present = paper_terms[c]
                matched = [quoted[t] for t in terms if t in present]
                if matched:
                    parts.append("matches " + ", ".join(matched[:3]))
            if names:
                on_paper = self.paper_authors[c]
                by = [name for name, keys in names if not keys.isdisjoint(on_paper)]
                if by:
                    parts.append("by " + ", ".join(by[:2]))
            d = d_row[j] if d_row else 0.0
            lk = l_row[j] if l_row else 0.0
            if d >= _MENTION or (not parts and d > 0 and d >= lk):
                parts.append("similar to your description")
            learned = m_row[j] if m_row else 0.0
            # Papers brought by answers name the liked paper they resemble most.
            if learned >= _MENTION or lk >= _MENTION or (not parts and (lk > 0 or learned > 0)):
                examples = examples or self.examples(s, cols)
                parts.append(examples[j])
            if shown is not None and (category := shown[c]) is not None:
                parts.append(category)
            reasons.append(" · ".join(parts) + upvotes[c] if parts else upvotes[c][3:])
        return reasons

    def _shown(self, wanted: frozenset[int]) -> list[str | None]:
        """Each paper's first category among `wanted` (None: none), once per distinct set:
        subscribers choose among few categories."""
        shown = self.categories_shown.get(wanted)
        if shown is None:
            shown = self.categories_shown[wanted] = [
                next((cat for cat, keys in categories if keys & wanted), None)
                for categories in self.paper_categories
            ]
        return shown

    def prepare(self, a: int, top: list[list[int]]) -> None:
        """Finds, for the chunk's subscribers from `a` on who liked several papers, the one
        nearest each of their top papers: one gather for the chunk, not one per subscriber.
        Only the newest liked papers count: those of the Rocchio terms, whose cosines to
        today's papers the ranking computed already."""
        where, newest = self.ranker.feedback_columns, self.ranker.weights.feedback_papers
        self.liked, self.nearest = {}, {}
        rows = []
        for r in range(len(top)):
            liked = self.cp.profiles[a + r].liked[:newest]
            if len(liked) > 1 and (found := [p for p in liked if p.id in where]):
                self.liked[a + r] = [p.title for p in found]
                rows.append((r, [where[p.id] for p in found]))
        if not rows:
            return
        columns = np.zeros((len(rows), max(len(c) for _, c in rows)), dtype=np.int64)
        unused = np.ones(columns.shape, dtype=bool)
        for i, (_, found_columns) in enumerate(rows):
            columns[i, : len(found_columns)] = found_columns
            unused[i, : len(found_columns)] = False
        papers = np.array([top[r] for r, _ in rows], dtype=np.int64)
        sims = self.cp.feedback_similarity[columns[:, :, None], papers[:, None, :]]
        sims[unused] = -np.inf
        for (r, _), nearest in zip(rows, sims.argmax(axis=1).tolist(), strict=True):
            self.nearest[a + r] = nearest

    def examples(self, s: int, cols: list[int]) -> list[str]:
        """ "like 'Born Again Neural Networks', which you liked" for each pick: the liked
        paper closest to it in words (see `prepare`)."""
        liked = self.cp.profiles[s].liked[: self.ranker.weights.feedback_papers]
        if len(liked) == 1:
            return [f"like '{liked[0].title}', which you liked"] * len(cols)
        titles = self.liked.get(s)
        if not titles:
            return ["more like papers you liked"] * len(cols)
        phrases = [f"like '{title}', which you liked" for title in titles]
        return [phrases[i] for i in self.nearest[s][: len(cols)]]

    def _keywords_only(self, terms: list[int], cols: list[int]) -> list[str]:
        """Keywords only, the common case: the matched terms and the upvotes. Subscribers
        who follow the same keywords share the reason for the same paper."""
        known = self.keyword_reasons.setdefault(tuple(terms), {})
        reasons = []
        for c in cols:
            reason = known.get(c)
            if reason is None:
                present = self.paper_terms[c]
                matched = [self.quoted[t] for t in terms if t in present]
                reason = known[c] = "matches " + ", ".join(matched[:3]) + self.upvotes[c]
            reasons.append(reason)
        return reasons


def _row_sets(matrix: sparse.csr_matrix) -> list[frozenset[int]]:
    indptr, indices = matrix.indptr, matrix.indices.tolist()
    return [frozenset(indices[indptr[i] : indptr[i + 1]]) for i in range(matrix.shape[0])]
