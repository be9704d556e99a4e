"""Per-subscriber ranking: which of the day's papers each subscriber gets, in what order, why.

The interface (`PaperDoc`, `Profile`, `Pick`, `rank`) is what the delivery code relies on.
`Ranker.fit(papers)` does the per-day work once (text model, keyword index, trending);
`Ranker.rank(profiles)` scores every subscriber against every paper with sparse matrix
products, a chunk of subscribers at a time, and Python only cuts and explains the top few.

A paper's score for a subscriber is its relevance plus a bounded trending lift. Relevance
comes from the interests (keywords and phrases, followed authors, categories, the free-text
description) and from feedback (Rocchio: papers like the liked ones rise, papers like the
disliked ones sink). Only papers whose relevance reaches `RELEVANCE_FLOOR` are eligible at
all, so trending reorders matching papers but never brings in one that does not match.
"""

from __future__ import annotations

import gc
from collections.abc import Sequence
from datetime import date

import numpy as np
from scipy import sparse

from .blas import blas_threads
from .learner import LearnerConfig, paper_features, paper_word_rows, paper_words
from .profiles import compile_profiles
from .scoring import DayMatrices, dense_product, rank_compiled
from .text import TextConfig, TextModel
from .types import RELEVANCE_FLOOR, PaperDoc, Pick, Profile, Weights
from .words import PhraseIndex, category_keys, paper_author_keys

# An earlier paper's TF-IDF row (its columns and values) and its cosines to today's papers.
_Earlier = tuple[np.ndarray, np.ndarray, np.ndarray]
# Earlier papers kept per day: TF-IDF row and cosines to today's papers, 9 KB each.
_EARLIER_KEPT = 10_000


class Ranker:
    """The day's papers, prepared once; ranks any number of profiles against them."""

    def __init__(
        self,
        papers: Sequence[PaperDoc],
        *,
        text: TextConfig | None = None,
        weights: Weights | None = None,
        floor: float = RELEVANCE_FLOOR,
        today: date | None = None,
        learner: LearnerConfig | None = None,
    ) -> None:
        self.papers = list(papers)
        self.weights = weights or Weights()
        self.learner = learner or LearnerConfig()
        self._learner_features: np.ndarray | None = None
        self._learner_words: sparse.csr_matrix | None = None
        self.floor = floor
        self.position = {p.id: i for i, p in enumerate(self.papers)}
        self.text = TextModel(text)
        if self.papers:
            with blas_threads(1):
                self.text.fit([self.text.document(p.title, p.abstract) for p in self.papers])
        self.phrases = PhraseIndex(
            [p.title for p in self.papers], [p.abstract for p in self.papers]
        )
        self.trend = self._trending(today)
        self.category_matrix, self.category_vocab = self._keyed_matrix(
            [k for c in p.categories for k in category_keys(c)] for p in self.papers
        )
        self.author_matrix, self.author_vocab = self._keyed_matrix(
            [k for a in p.authors for k in paper_author_keys(a)] for p in self.papers
        )
        self._term_columns: dict[tuple[str, ...], tuple[np.ndarray, np.ndarray]] = {}
        self._day_matrices: DayMatrices | None = None
        self._positions: _Positions | None = None
        self._earlier: dict[tuple[int, str, str], _Earlier] = {}

    @classmethod
    def fit(cls, papers: Sequence[PaperDoc], **options) -> Ranker:
        return cls(papers, **options)

    def _keyed_matrix(self, keys_per_paper) -> tuple[sparse.csr_matrix, dict[str, int]]:
        vocab: dict[str, int] = {}
        rows, cols = [], []
        for i, keys in enumerate(keys_per_paper):
            for key in set(keys):
                rows.append(i)
                cols.append(vocab.setdefault(key, len(vocab)))
        shape = (len(self.papers), max(len(vocab), 1))
        data = np.ones(len(rows), dtype=np.float32)
        return sparse.csr_matrix((data, (rows, cols)), shape=shape), vocab

    def _trending(self, today: date | None) -> np.ndarray:
        """A lift in [0, 1] per paper: upvotes, recent upvote growth, freshness."""
        w = self.weights
        if not self.papers:
            return np.zeros(0, dtype=np.float32)
        upvotes = np.array([max(p.upvotes, 0) for p in self.papers], dtype=np.float64)
        growth = np.array([max(p.upvote_growth, 0) for p in self.papers], dtype=np.float64)
        dates = [p.announced_on for p in self.papers]
        known = [d for d in dates if d is not None]
        today = today or (max(known) if known else None)
        age = np.array(
            [(today - d).days if d is not None and today else 0 for d in dates], dtype=np.float64
        )
        recency = 0.5 ** (np.clip(age, 0, None) / w.recency_half_life_days)
        lift = (
            0.5 * np.minimum(1, np.log1p(upvotes) / np.log1p(w.upvotes_full))
            + 0.3 * np.minimum(1, np.log1p(growth) / np.log1p(w.growth_full))
            + 0.2 * recency
        )
        return lift.astype(np.float32)

    def learner_features(self) -> np.ndarray | None:
        """The day's papers as the learners read them: (dimensions + 1) x papers, the last
        row ones for the bias; None without an encoder. Encoded (or read) once a day."""
        if self._learner_features is None and self.papers:
            self._learner_features = paper_features(self.text, self.papers, self.learner)
        return self._learner_features

    def learner_words(self) -> sparse.csr_matrix:
        """The day's papers' hashed words as the learners read them: features x papers.
        Hashed through the process's cache of paper words: the learners' refits hash the
        answered papers there, and a pool fitted again (new upvotes) has the same texts."""
        if self._learner_words is None:
            words = paper_word_rows([paper_words(p.title, p.abstract) for p in self.papers])
            self._learner_words = words.T.tocsr()
        return self._learner_words

    def day_matrices(self) -> DayMatrices:
        """The day's papers as the scoring and the reasons read them, built on first use."""
        if self._day_matrices is None:
            self._day_matrices = DayMatrices(self)
        return self._day_matrices

    def positions(self, ids: np.ndarray) -> np.ndarray:
        """Each paper id's position in today's pool (the first, were an id there twice), or
        -1 where the paper is not in it."""
        if self._positions is None:
            self._positions = _Positions([p.id for p in self.papers])
        return self._positions(ids)

    def term_column(self, words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
        """(papers containing the term, the weight of each match): found once a day, as a
        send worker meets the same keywords in call after call."""
        column = self._term_columns.get(words)
        if column is None:
            anywhere, in_title = self.phrases.hits(words)
            title, w = set(in_title), self.weights
            weights = [w.keyword_in_title if i in title else w.keyword for i in anywhere]
            column = self._term_columns[words] = (
                np.array(anywhere, dtype=np.int64),
                np.array(weights, dtype=np.float32),
            )
        return column

    def rank(
        self, profiles: Sequence[Profile], *, chunk_size: int = 1024, floor: float | None = None
    ) -> dict[int, list[Pick]]:
        """Picks per subscriber id, best first, at most `limit`, none below the floor (the
        ranker's, or `floor`: the papers step shows the closest papers even on a day where
        none would be worth a digest)."""
        if not self.papers or not profiles:
            return {p.subscriber_id: [] for p in profiles}
        # The products are many and small: one BLAS thread avoids threads spinning against
        # each other (twice as fast on a busy 2-core host). A million new Pick objects would
        # set off full garbage collections that find nothing to free; pause them meanwhile.
        paused = gc.isenabled()
        gc.disable()
        try:
            with blas_threads(1):
                compiled = compile_profiles(self, profiles)
                result = rank_compiled(self, compiled, chunk_size=chunk_size, floor=floor)
        finally:
            if paused:
                gc.enable()
        return result

    def feedback_weights(
        self, *groups_of_groups: Sequence[Sequence[PaperDoc]]
    ) -> tuple[list[sparse.csr_matrix], np.ndarray, dict[int, int]]:
        """Rocchio centroids of feedback papers, as weights over feedback documents.

        For each list of groups (say every subscriber's liked papers), a matrix with one row
        per group whose product with the returned documents x papers similarity matrix is
        the cosine of the group's L2-normalised TF-IDF centroid to every paper of the day.
        Papers of today's pool reuse their row; older ones are vectorised together, once.
        Also where each feedback paper sits among the documents, for the reasons to name
        one: returned, not kept, since threads may share a Ranker.
        """
        pool = len(self.papers)
        if self.text.papers is None:
            empty = [sparse.csr_matrix((len(g), 0), dtype=np.float32) for g in groups_of_groups]
            return empty, np.zeros((0, pool), dtype=np.float32), {}
        columns, outside_docs = self._feedback_columns(groups_of_groups)
        # Cosines among all feedback documents (today's papers, then older ones): the rows
        # against today's papers score the pool, and the cosines within each group give the
        # centroids' norms, so no centroid is ever built as a vector.
        gram = _FeedbackGram(self.text.gram(), pool)
        similarities = gram.pool
        if outside_docs:
            extra, gram.cross = self._earlier_papers(outside_docs)
            gram.among = dense_product(extra, extra.T.tocsr())  # dense: the papers share words
            similarities = np.concatenate([similarities, gram.cross])
        weights, at = [], 0
        for groups in groups_of_groups:
            lengths = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
            cols = columns[at : at + int(lengths.sum())]
            at += len(cols)
            # 1 / len in double, then to float32: as the division of Python floats gives it.
            vals = np.repeat(1.0 / np.maximum(lengths, 1), lengths).astype(np.float32)
            averaging = sparse.csr_matrix(
                (vals, (np.repeat(np.arange(len(groups)), lengths), cols)),
                shape=(len(groups), pool + len(outside_docs)),
            )
            averaging.sum_duplicates()
            norms = np.sqrt(np.maximum(_quadratic_forms(averaging, gram), 0)).astype(np.float32)
            norms[norms == 0] = 1.0
            weights.append(sparse.diags(1.0 / norms).dot(averaging).astype(np.float32).tocsr())
        where = {**self.position, **{doc.id: pool + j for j, doc in enumerate(outside_docs)}}
        return weights, similarities, where

    def _feedback_columns(
        self, groups_of_groups: Sequence[Sequence[Sequence[PaperDoc]]]
    ) -> tuple[np.ndarray, list[PaperDoc]]:
        """Each feedback document's column, all lists and groups in a row: today's papers
        their position, older ones the pool's size on, in order of first appearance; and
        those older documents."""
        flat = [doc for groups in groups_of_groups for docs in groups for doc in docs]
        get, pool = self.position.get, len(self.papers)
        columns = np.fromiter((get(doc.id, -1) for doc in flat), dtype=np.int64, count=len(flat))
        older = np.flatnonzero(columns < 0)
        if not older.size:
            return columns, []
        ids = np.fromiter((flat[i].id for i in older.tolist()), dtype=np.int64, count=older.size)
        _, first, inverse = np.unique(ids, return_index=True, return_inverse=True)
        appearance = np.argsort(first)
        rank = np.empty_like(appearance)
        rank[appearance] = np.arange(len(appearance))
        columns[older] = pool + rank[inverse.ravel()]
        return columns, [flat[i] for i in older[first[appearance]].tolist()]

    def _earlier_papers(self, docs: Sequence[PaperDoc]) -> tuple[sparse.csr_matrix, np.ndarray]:
        """TF-IDF rows of papers from earlier days, and their cosines to today's papers,
        each computed once: a worker ranks the day in many chunks, and the same liked
        papers come back in chunk after chunk (kept for the first `_EARLIER_KEPT`)."""
        keys = [(d.id, d.title, d.abstract) for d in docs]
        missing = [i for i, key in enumerate(keys) if key not in self._earlier]
        found: dict[tuple[int, str, str], _Earlier] = {}
        if missing:
            assert self.text.papers is not None, "fit() first"
            rows = self.text.transform(
                self.text.document(docs[i].title, docs[i].abstract) for i in missing
            )
            cross = (rows @ self.text.papers.T).toarray()
            for row, i in enumerate(missing):
                a, b = rows.indptr[row], rows.indptr[row + 1]
                found[keys[i]] = (rows.indices[a:b].copy(), rows.data[a:b].copy(), cross[row])
                if len(self._earlier) < _EARLIER_KEPT:
                    self._earlier[keys[i]] = found[keys[i]]
        chosen = [self._earlier.get(key) or found[key] for key in keys]
        # The rows stacked by hand: sparse.vstack of a few hundred one-row matrices cost
        # more than the products that follow.
        indptr = np.zeros(len(chosen) + 1, dtype=np.int64)
        np.cumsum([len(indices) for indices, _, _ in chosen], out=indptr[1:])
        width = self.text.papers.shape[1] if self.text.papers is not None else 0
        stacked = sparse.csr_matrix(
            (
                np.concatenate([data for _, data, _ in chosen]),
                np.concatenate([indices for indices, _, _ in chosen]),
                indptr,
            ),
            shape=(len(chosen), width),
        )
        return stacked, np.vstack([near for _, _, near in chosen])


class _Positions:
    """Paper ids to positions in the pool, many at a time (every subscriber's papers already
    sent, call after call): a table over the pool's ids, which are database keys close
    together, or else a binary search. The table is ten times faster than the search."""

    _MAX_TABLE = 1 << 22  # entries (16 MB)

    def __init__(self, ids: Sequence[int]) -> None:
        pool = np.array(ids, dtype=np.int64)
        self.order = np.argsort(pool, kind="stable")
        self.sorted = pool[self.order]
        self.low = int(self.sorted[0]) if len(pool) else 0
        span = int(self.sorted[-1]) - self.low + 1 if len(pool) else 0
        self.table: np.ndarray | None = None
        if 0 < span <= self._MAX_TABLE:
            distinct, first = np.unique(pool, return_index=True)
            self.table = np.full(span, -1, dtype=np.int32)
            self.table[distinct - self.low] = first

    def __call__(self, ids: np.ndarray) -> np.ndarray:
        if self.table is not None:
            found = np.full(len(ids), -1, dtype=np.int64)
            inside = (ids >= self.low) & (ids < self.low + len(self.table))
            found[inside] = self.table[ids[inside] - self.low]
            return found
        if not len(self.sorted):
            return np.full(len(ids), -1, dtype=np.int64)
        at = np.clip(np.searchsorted(self.sorted, ids), 0, len(self.sorted) - 1)
        return np.where(self.sorted[at] == ids, self.order[at], -1)


class _FeedbackGram:
    """Cosines among feedback documents, read where the norms need them: today's papers
    among themselves (the day's Gram matrix), older ones to today's (`cross`, older x
    today) and among themselves (`among`). Stacking them into one matrix copied the
    day's 2,000 x 2,000 Gram matrix on every call."""

    def __init__(self, pool_gram: np.ndarray, pool: int) -> None:
        self.pool, self.size = pool_gram, pool
        self.cross = np.zeros((0, pool), dtype=np.float32)
        self.among = np.zeros((0, 0), dtype=np.float32)

    def entries(self, i: np.ndarray, j: np.ndarray) -> np.ndarray:
        """The cosines of documents i[e] and j[e], as float32."""
        n = self.size
        out = np.empty(len(i), dtype=np.float32)
        old_i, old_j = i >= n, j >= n
        for where, block, rows, cols in (
            (~old_i & ~old_j, self.pool, i, j),
            (old_i & ~old_j, self.cross, i - n, j),
            (~old_i & old_j, self.cross, j - n, i),  # cross.T
            (old_i & old_j, self.among, i - n, j - n),
        ):
            out[where] = block[rows[where], cols[where]]
        return out


def _quadratic_forms(rows: sparse.csr_matrix, gram: _FeedbackGram) -> np.ndarray:
    """x' G x for each row x of a sparse matrix with few entries per row, without x @ G."""
    lengths = np.diff(rows.indptr)
    owner = np.repeat(np.arange(rows.shape[0]), lengths)  # the row of each entry
    # Every pair of entries within a row: entry e pairs with the lengths[owner[e]] entries
    # of its row, starting at that row's first entry.
    pairs = lengths[owner]
    first = np.repeat(np.arange(len(owner)), pairs)
    starts = np.repeat(np.cumsum(pairs) - pairs, pairs)
    second = rows.indptr[owner[first]] + (np.arange(len(first)) - starts)
    cols, data = rows.indices, rows.data.astype(np.float64)
    terms = data[first] * data[second] * gram.entries(cols[first], cols[second])
    return np.bincount(owner[first], weights=terms, minlength=rows.shape[0])


def rank(papers: Sequence[PaperDoc], profiles: Sequence[Profile]) -> dict[int, list[Pick]]:
    """Picks per subscriber id, best first. Fits the day's model once, then ranks everyone."""
    return Ranker.fit(papers).rank(profiles)
