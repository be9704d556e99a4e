"""The day's TF-IDF text model for the ranking: free-text queries, their nearest terms in
meaning (the sentence encoder), pseudo-relevance feedback and the title check.

Fitted at most once per day's pool of papers; the words and keys it builds on are in
words.py.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.preprocessing import normalize
from sklearn.utils.extmath import randomized_svd

from . import dropping, semantic
from .nearest import NearestTerms
from .words import STOP_WORDS, analyzer, written_forms

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextConfig:
    """How titles and abstracts become vectors. `baseline()` is plain scikit-learn TF-IDF."""

    sublinear_tf: bool = True
    ngram_max: int = 2
    min_df: int = 1
    max_df: float = 0.5
    folded: bool = True
    lsa_components: int = 64
    lsa_weight: float = 0.3
    title_repeat: int = 2
    stemmed: bool = False
    # Pseudo-relevance feedback, RM3-style: the query's `prf_docs` most similar papers,
    # weighted by their similarity, give a centroid; its `prf_terms` heaviest terms,
    # normalised and scaled by `prf_weight`, are added to the query (0 turns it off).
    prf_docs: int = 20
    prf_terms: int = 30
    prf_weight: float = 1.0
    # Semantic expansion (`digest.ranking.semantic`), before the RM3 step: the `semantic_terms`
    # vocabulary terms nearest a description in the sentence encoder's space, weighted by
    # cosine x IDF, normalised and scaled by `semantic_weight` (0 turns it off). Candidates
    # are the `semantic_vocabulary` commonest terms found in at least `semantic_min_df` papers;
    # a term less close than `semantic_min_closeness` is never added (on a small day the 40
    # nearest terms would otherwise include unrelated ones).
    semantic_terms: int = 40
    semantic_weight: float = 1.0
    semantic_min_closeness: float = 0.3
    # A description counts as matching a paper only where the encoder also finds the paper's
    # title at least this close to it (0 turns the check off): one shared rare word
    # ("detecting credit card fraud" and "detecting hallucinations") is not a match.
    semantic_gate: float = 0.2
    semantic_min_df: int = 2
    semantic_vocabulary: int = 10_000
    # A candidate term is also as close as the closest of its plain-English glosses, put on
    # the terms' scale with this times their spread (glossary.py; 0 turns the glossary off).
    semantic_glossary: float = 1.2

    @classmethod
    def baseline(cls) -> TextConfig:
        return cls(
            sublinear_tf=False,
            ngram_max=1,
            max_df=1.0,
            folded=False,
            title_repeat=1,
            lsa_components=0,
            lsa_weight=0.0,
            prf_docs=0,
            prf_weight=0.0,
            semantic_weight=0.0,
            semantic_gate=0.0,
        )

    def without_prf(self) -> TextConfig:
        return replace(self, prf_docs=0, prf_weight=0.0)

    def without_semantic(self) -> TextConfig:
        return replace(self, semantic_weight=0.0, semantic_gate=0.0)


# How many of the most frequent features are multiplied densely (features x papers floats).
_DENSE_FEATURES = 1024
# A paper contributes at most this many of its heaviest terms to a feedback centroid: the
# centroid's top terms come from them, and the product stays small.
_PRF_DOC_TERMS = 100
# Expansion uses at most one top paper per this many papers in the pool, and needs a few.
_PRF_POOL_PER_DOC = 25
_PRF_MIN_DOCS = 5
# Queries expanded together, so the centroids of one block stay small in memory.
_PRF_BLOCK = 1024


_SHARED_ENCODER = object()  # "the process's encoder, if it can load", resolved on first use


class TextModel:
    """TF-IDF (optionally blended with LSA) over the day's titles and abstracts."""

    def __init__(self, config: TextConfig | None = None, encoder=_SHARED_ENCODER) -> None:
        self.config = config or TextConfig()
        self._encoder = encoder
        self._nearest: NearestTerms | None = None
        self._titles: list[str] = []
        self._documents: Sequence[str | tuple[str, ...]] = ()
        self._written_forms: dict[str, str] | None = None
        self._title_vectors: np.ndarray | None = None
        self.document_frequency: np.ndarray | None = None
        cfg = self.config
        if cfg.folded:
            self.vectorizer = TfidfVectorizer(
                analyzer=analyzer(cfg.ngram_max, STOP_WORDS, cfg.stemmed),
                sublinear_tf=cfg.sublinear_tf,
                min_df=cfg.min_df,
                max_df=cfg.max_df,
                dtype=np.float32,
            )
        else:
            self.vectorizer = TfidfVectorizer(dtype=np.float32)
        self.lsa_project: np.ndarray | None = None
        self.papers: sparse.csr_matrix | None = None
        self.papers_lsa: np.ndarray | None = None
        self._prf_papers: sparse.csr_matrix | None = None
        self._gram: np.ndarray | None = None

    def document(self, title: str, abstract: str) -> str | tuple[str, ...]:
        if not self.config.folded:
            return "\n".join([title] * self.config.title_repeat + [abstract])
        return (title,) * self.config.title_repeat + (abstract,)

    def fit(self, documents: Sequence[str | tuple[str, ...]]) -> TextModel:
        cfg = self.config
        self._titles = [d[0] if isinstance(d, tuple) else d.split("\n", 1)[0] for d in documents]
        self._documents = documents
        if cfg.folded and len(documents) < 20:
            # On a handful of papers a document-frequency cut would drop the topic words.
            self.vectorizer.set_params(max_df=1.0, min_df=1)
        try:
            self.papers = self.vectorizer.fit_transform(documents).tocsr()
        except ValueError:  # nothing but stop words: no text signal today
            self.papers = None
            return self
        document_frequency = self.document_frequency = np.diff(self.papers.tocsc().indptr)
        order = np.argsort(-document_frequency, kind="stable")
        self._common = np.sort(order[:_DENSE_FEATURES])
        self._rare = np.sort(order[_DENSE_FEATURES:])
        # C order: a sparse x dense product would copy an F-ordered operand on every call.
        self._common_t = np.ascontiguousarray(self.papers[:, self._common].T.toarray())
        self._rare_t = self.papers[:, self._rare].T.tocsr()
        n = self.papers.shape[0]
        components = min(cfg.lsa_components, n - 1, self.papers.shape[1] - 1)
        if cfg.lsa_weight > 0 and components >= 2:
            # LSA through the papers' Gram matrix (papers x papers, small): X = U S V', so a
            # query q maps to q V = (q X') U / S, from its TF-IDF similarities alone.
            gram = self.gram()
            vectors, values, _ = randomized_svd(
                gram, components, n_oversamples=20, n_iter=4, random_state=0
            )
            keep = values > 1e-9
            sigma = np.sqrt(values[keep])
            self.lsa_project = (vectors[:, keep] / sigma).astype(np.float32)
            self.papers_lsa = normalize(vectors[:, keep] * sigma).astype(np.float32)
        return self

    def hyphenated_form(self, joined: str) -> str | None:
        """How the day's papers most often write a joined compound ("zeroshot" ->
        "zero-shot"); None when they never hyphenate it."""
        if self._written_forms is None:
            parts = (p for d in self._documents for p in (d if isinstance(d, tuple) else (d,)))
            self._written_forms = written_forms(parts)
        return self._written_forms.get(joined)

    def gram(self) -> np.ndarray:
        """Cosines between the day's papers (dense papers x papers), computed once."""
        assert self.papers is not None, "fit() first"
        if self._gram is None:
            self._gram = (self.papers @ self.papers.T).toarray().astype(np.float32, copy=False)
        return self._gram

    def transform(self, texts: Iterable[str | tuple[str, ...]]) -> sparse.csr_matrix:
        if self.papers is None:
            return sparse.csr_matrix((len(list(texts)), 0), dtype=np.float32)
        return self.vectorizer.transform(list(texts)).tocsr()

    def similarity(self, queries: sparse.csr_matrix) -> np.ndarray:
        """Cosine similarity of each query row (TF-IDF) to every paper, dense rows x papers."""
        assert self.papers is not None, "fit() first"
        return self.blend(self._raw(queries))

    def queries(
        self,
        texts: Iterable[str],
        vectors: np.ndarray | Sequence[np.ndarray | None] | None = None,
        dropped: Sequence[Sequence[str]] | None = None,
    ) -> sparse.csr_matrix:
        """Free-text queries as TF-IDF rows, with their nearest terms in meaning added, then
        expanded by pseudo-relevance feedback. `vectors` may give a text's encoder vector,
        stored when it was written, so it need not be encoded again; `dropped` each text's
        dropped terms, removed from its words and from both expansions (dropping.py)."""
        texts = list(texts)
        mask = dropping.dropped_matrix(self, dropped) if dropped else None
        queries = dropping.without(self.transform(texts), mask)
        queries = dropping.without(self.with_nearest_terms(queries, texts, vectors, mask), mask)
        return dropping.without(self.expand(queries), mask)

    def encoder(self):
        if self._encoder is _SHARED_ENCODER:
            self._encoder = semantic.encoder()
        return self._encoder

    def with_nearest_terms(
        self,
        queries: sparse.csr_matrix,
        texts: Sequence[str],
        vectors: np.ndarray | Sequence[np.ndarray | None] | None = None,
        dropped: sparse.csr_matrix | None = None,
    ) -> sparse.csr_matrix:
        """Each query plus the day's terms nearest its text in the encoder's space.

        "Tiny, deliberately crafted changes to the input that fool AI models" gains
        "adversarial example" and "robustness": words the papers use and the description
        does not. The added terms are weighted by closeness and rarity (IDF).
        """
        cfg = self.config
        if self.papers is None or cfg.semantic_weight <= 0 or cfg.semantic_terms <= 0 or not texts:
            return queries
        encoder = self.encoder()
        if encoder is None:
            return queries
        try:
            nearest = self.nearest_terms(encoder)
            if not len(nearest):
                return queries
            text_vectors = self.text_vectors(texts, vectors)
            assert text_vectors is not None, "an encoder was given"
            return nearest.added(queries, text_vectors, dropped)
        except Exception:  # the day's digests go out, ranked by words alone
            log.exception("semantic expansion failed; ranking descriptions by their words")
            return queries

    def text_vectors(
        self,
        texts: Sequence[str],
        vectors: np.ndarray | Sequence[np.ndarray | None] | None = None,
    ) -> np.ndarray | None:
        """The encoder's unit vectors of `texts` (those given are used as they are), or None
        when there is no encoder."""
        encoder = self.encoder()
        if encoder is None:
            return None
        given = list(vectors) if vectors is not None else [None] * len(texts)
        missing = [i for i, v in enumerate(given) if v is None]
        out = np.empty((len(texts), semantic.DIMENSIONS), dtype=np.float32)
        for i, vector in enumerate(given):
            if vector is not None:
                out[i] = vector
        if missing:
            out[missing] = encoder.encode([texts[i] for i in missing])
        return out

    def title_vectors(self) -> np.ndarray:
        """The encoder's vectors of the day's titles, encoded (or read from the store) once."""
        if self._title_vectors is None:
            self._title_vectors = self.encoder().encode_terms(self._titles)
        return self._title_vectors

    def title_closeness(self, text_vectors: np.ndarray) -> np.ndarray:
        """Cosine of each text vector to each paper's title, in the encoder's space."""
        # Called per chunk with a few hundred rows, in the ranking's one BLAS thread: two
        # were ten times slower on a busy host, and on an idle one the second spun on after
        # each call (7 s of CPU a 100,000-subscriber day, for no gain in wall time).
        return text_vectors @ self.title_vectors().T

    def prepare_nearest_terms(self) -> int:
        """Encodes the day's candidate terms now (into the machine's term store), so that
        the first ranking of the day finds them ready; returns how many there are."""
        cfg = self.config
        encoder = self.encoder() if cfg.semantic_weight > 0 else None
        if self.papers is None or encoder is None:
            return 0
        if cfg.semantic_gate > 0:
            self.title_vectors()
        return len(self.nearest_terms(encoder))

    def nearest_terms(self, encoder) -> NearestTerms:
        """The day's candidate terms for the nearest-terms expansion, encoded once."""
        if self._nearest is None:
            self._nearest = NearestTerms(self, encoder)
        return self._nearest

    def expand(self, queries: sparse.csr_matrix) -> sparse.csr_matrix:
        """RM3-style expansion: each query plus the heaviest terms of its top papers.

        Short descriptions in everyday words ("a tiny add-on while everything else stays
        frozen") share few words with the papers they mean; the papers they do match best
        carry the field's words (adapter, LoRA, parameter-efficient), which the expansion
        adds. Top papers are weighted by their similarity, as in a relevance model.
        """
        cfg = self.config
        if self.papers is None or cfg.prf_docs <= 0 or cfg.prf_weight <= 0:
            return queries
        n_papers = self.papers.shape[0]
        # The top papers must be a small, focused slice of the pool: on a few dozen papers
        # they are mostly other topics, and their words would drag those topics in.
        k = min(cfg.prf_docs, n_papers // _PRF_POOL_PER_DOC)
        if k < _PRF_MIN_DOCS:
            return queries
        if self._prf_papers is None:
            self._prf_papers = _heaviest(self.papers, _PRF_DOC_TERMS)
        blocks = []
        for a in range(0, queries.shape[0], _PRF_BLOCK):
            block = queries[a : a + _PRF_BLOCK]
            sims = self._raw(block)
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            weights = np.take_along_axis(sims, top, axis=1)
            np.clip(weights, 0, None, out=weights)
            total = weights.sum(axis=1, keepdims=True)
            weights /= np.where(total > 0, total, 1)
            n = block.shape[0]
            picks = sparse.csr_matrix(
                (weights.ravel(), top.ravel(), np.arange(0, n * k + 1, k)),
                shape=(n, n_papers),
            )
            centroid = normalize(_heaviest(picks @ self._prf_papers, cfg.prf_terms))
            blocks.append(normalize(block + cfg.prf_weight * centroid).astype(np.float32))
        return sparse.vstack(blocks, format="csr") if blocks else queries

    def _raw(self, queries: sparse.csr_matrix) -> np.ndarray:
        # Frequent features are kept dense: most of the work of a sparse product is theirs.
        sims = np.asarray(queries[:, self._common] @ self._common_t, dtype=np.float32)
        sims += (queries[:, self._rare] @ self._rare_t).toarray()
        return sims

    def blend(self, sims: np.ndarray) -> np.ndarray:
        """TF-IDF cosines to every paper, blended with the LSA cosines derived from them."""
        if self.lsa_project is None or self.papers_lsa is None:
            return sims
        reduced = normalize(sims @ self.lsa_project)
        weight = self.config.lsa_weight
        lsa = reduced @ self.papers_lsa.T
        np.clip(lsa, 0, None, out=lsa)
        sims *= 1 - weight
        sims += weight * lsa
        return sims


def _heaviest(matrix: sparse.csr_matrix, keep: int) -> sparse.csr_matrix:
    """A copy of `matrix` with only the `keep` largest entries of each row."""
    matrix = sparse.csr_matrix(matrix, copy=True)
    indptr, data = matrix.indptr, matrix.data
    lengths = np.diff(indptr)
    for r in np.flatnonzero(lengths > keep).tolist():
        a, b = indptr[r], indptr[r + 1]
        row = data[a:b]
        row[np.argpartition(-row, keep - 1)[keep:]] = 0
    matrix.eliminate_zeros()
    return matrix
