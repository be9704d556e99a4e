"""A description's nearest terms in meaning: the day's vocabulary terms the sentence encoder
finds closest to it, added to its words.

"Tiny, deliberately crafted changes to the input that fool AI models" gains "adversarial
example" and "robustness": words the papers use and the description does not. The
candidates are the day's commonest terms, encoded once (and kept in the machine's term
store, so a worker's later days find most of them ready). A term can also be reached
through the glossary's plain-English glosses of it (glossary.py).
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from . import glossary
from .blas import blas_threads

# Descriptions expanded together, so a block's closeness matrix stays small in memory.
_BLOCK = 1024
# A second BLAS thread pays for itself on a large block, and spins on after a small one.
_THREADS = 2
_THREADED_ROWS = 512
# The glossary puts a text's closeness to a gloss on the scale of its closeness to the
# day's terms: that scale is read off at least this many of them (a day of a few dozen
# papers offers a hundred, and their spread says little).
_GLOSSARY_MIN_CANDIDATES = 1_000


class NearestTerms:
    """The day's candidate terms: their feature columns, unit vectors and IDF, and the
    glossary's glosses that reach them (on a day with enough terms)."""

    def __init__(self, model, encoder) -> None:
        cfg = self.config = model.config
        frequency = model.document_frequency
        papers = model.papers
        assert papers is not None and frequency is not None, "fit() first"
        self.width = papers.shape[1]
        # On a handful of papers nearly every term is in one paper only.
        min_df = cfg.semantic_min_df if papers.shape[0] >= 20 else 1
        columns = np.flatnonzero(frequency >= min_df)
        if len(columns) > cfg.semantic_vocabulary:
            commonest = np.argsort(-frequency[columns], kind="stable")
            columns = np.sort(columns[commonest[: cfg.semantic_vocabulary]])
        self.names: list[str] = model.vectorizer.get_feature_names_out()[columns].tolist()
        self.columns = columns
        self.vectors = (
            encoder.encode_terms(self.names) if self.names else np.zeros((0, 0), np.float32)
        )
        self.idf = model.vectorizer.idf_[columns].astype(np.float32)
        self.glosses: glossary.DayGlosses | None = None
        entries = glossary.entries() if cfg.semantic_glossary > 0 else ()
        if entries and len(self.names) >= _GLOSSARY_MIN_CANDIDATES:
            analyze = model.vectorizer.build_analyzer()
            self.glosses = glossary.DayGlosses(self.names, analyze, encoder, entries)

    def __len__(self) -> int:
        return len(self.columns)

    def closeness(
        self, text_vectors: np.ndarray, dropped: sparse.csr_matrix | None = None
    ) -> np.ndarray:
        """Cosine of each text to each candidate term (or to its closest gloss); `dropped`
        (texts x features) each text's dropped features."""
        threads = _THREADS if len(text_vectors) >= _THREADED_ROWS else 1
        with blas_threads(threads):
            closeness = text_vectors @ self.vectors.T
            if self.glosses is not None:
                on_candidates = dropped[:, self.columns] if dropped is not None else None
                self.glosses.lift(
                    closeness, text_vectors, self.config.semantic_glossary, on_candidates
                )
        return closeness

    def added(
        self,
        queries: sparse.csr_matrix,
        text_vectors: np.ndarray,
        dropped: sparse.csr_matrix | None = None,
    ) -> sparse.csr_matrix:
        """Each query plus its nearest terms, weighted by closeness and rarity (IDF);
        `dropped` (texts x features, or None) each text's dropped features."""
        cfg = self.config
        if not len(self):
            return queries
        k = min(cfg.semantic_terms, len(self))  # slots left empty weaken the expansion
        blocks = []
        for a in range(0, len(text_vectors), _BLOCK):
            block_dropped = dropped[a : a + _BLOCK] if dropped is not None else None
            closeness = self.closeness(text_vectors[a : a + _BLOCK], block_dropped)
            top = _top_columns(closeness, k)
            closest = np.take_along_axis(closeness, top, axis=1)
            weights = np.where(closest >= cfg.semantic_min_closeness, closest, 0) * self.idf[top]
            n = top.shape[0]
            blocks.append(
                sparse.csr_matrix(
                    (weights.ravel(), self.columns[top].ravel(), np.arange(0, n * k + 1, k)),
                    shape=(n, self.width),
                )
            )
        nearest = sparse.vstack(blocks, format="csr")
        nearest.eliminate_zeros()
        # The added terms count in proportion to how many close ones the day offers: on a
        # small day one loosely related word must not weigh as much as the description.
        share = np.diff(nearest.indptr) / cfg.semantic_terms
        nearest = sparse.diags(share.astype(np.float32)) @ normalize(nearest)
        return normalize(queries + cfg.semantic_weight * nearest).astype(np.float32).tocsr()


def _top_columns(scores: np.ndarray, k: int) -> np.ndarray:
    """Each row's `k` best columns, as argpartition gives them, a few rows at a time: it
    returns every column's index, for a block of 10,000 terms 80 MB the allocator maps
    afresh on each call, and faulting its pages in cost more than the selection itself."""
    parts = [
        np.argpartition(scores[a : a + 64], -k, axis=1)[:, -k:] for a in range(0, len(scores), 64)
    ]
    return np.concatenate(parts) if parts else np.empty((0, k), dtype=np.intp)
