"""A small model per subscriber, fitted on the papers they said yes and no to.

Keywords and a description say what a subscriber wants in a few words; their answers
("more like this", "not for me", a pasted example) say it with whole papers. The learner
is a linear SVM, as arxiv-sanity-lite fits one per tag, over two kinds of features that
stay the same from day to day:

- the paper's words and two-word phrases, hashed (no vocabulary to keep in step), so that
  two liked distillation papers make "distillation", "teacher" and "student" count;
- the sentence encoder's vector of its title and opening (`digest.ranking.semantic`), where
  papers on one topic sit close together whatever words they use.

Positives are the "yes" papers and the subscriber's own interests' text (their description,
or their keywords) as one more; negatives are the "no" papers, counting more, and a sample
of recent papers (the background), as arxiv-sanity uses all other papers.

A score is expressed in standard deviations above the background's mean, so it means the
same on any day's pool. Stored compactly: the encoder direction and bias as DIMENSIONS + 1
float16, then the `kept_words` heaviest word weights as (uint32 feature, float16 weight).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import HashingVectorizer
from sklearn.preprocessing import normalize
from sklearn.svm import LinearSVC

try:  # private, used for speed only (see _svm_coef)
    from sklearn.svm._base import _get_liblinear_solver_type
    from sklearn.svm._liblinear import set_verbosity_wrap
    from sklearn.svm._liblinear import train_wrap as _liblinear_train

    set_verbosity_wrap(0)  # liblinear prints every fit unless told once to be quiet
except ImportError:  # pragma: no cover - a scikit-learn without them
    _liblinear_train = None

from .types import LearnerWeights
from .words import contains_phrase, singular

if TYPE_CHECKING:
    from .semantic import Encoder
    from .text import TextModel
    from .types import PaperDoc

log = logging.getLogger(__name__)

DIMENSIONS = 384  # the encoder's (digest.semantic.DIMENSIONS), checked when fitting
WORD_FEATURES = 2**18
_HASHER = HashingVectorizer(
    n_features=WORD_FEATURES,
    ngram_range=(1, 2),
    alternate_sign=False,
    norm=None,
    stop_words="english",
    dtype=np.float32,
)
_ANALYSE = _HASHER.build_analyzer()
# The same hashing of n-grams already cut out of a text (for prior_words).
_GRAMS_HASHER = HashingVectorizer(
    n_features=WORD_FEATURES,
    analyzer=lambda grams: grams,
    alternate_sign=False,
    norm=None,
    dtype=np.float32,
)
_WORD_RECORD = np.dtype([("feature", "<u4"), ("weight", "<f2")])


@dataclass(frozen=True)
class LearnerConfig:
    """The learner's settings (chosen on the development profiles: docs/benchmarks/ranking.md)."""

    # The SVM: its regularisation, and how much a "no" counts beside a background paper.
    c: float = 0.1
    no_weight: float = 3.0
    # liblinear's stopping tolerance: 0.1 stops after ~7 passes instead of ~11 (at 0.01,
    # LinearSVC's default 1e-4 being slower still) with the same picks on every judged set.
    tol: float = 0.1
    # Recent papers that stand for "everything else", as negatives and for the scale.
    background_papers: int = 500
    # Word weights kept per subscriber (the heaviest by magnitude).
    kept_words: int = 256
    # Relevance at z_full, for a subscriber with `answers_full` answers or more; fewer
    # answers count proportionally less (one answer is a hint, ten are a statement).
    weight: float = 1.5
    answers_full: int = 2
    # A "no" counts as this much of an answer there: noes alone say what is not wanted,
    # not what is, and must not outweigh the interests.
    no_answer: float = 1.0
    cap: float = 2.0
    # Once a subscriber has said "yes" to `confident_yes` papers, their interests (keywords,
    # categories, authors, description) order the papers at this share of their weight, so
    # a handful of clear answers outweighs a vague sentence. Which papers are eligible at
    # all is still decided on the full weights: answers reorder, they do not fill quiet days.
    interests_share: float = 0.3
    confident_yes: int = 2
    # The score (standard deviations above a typical paper) adds nothing below z_start,
    # rises linearly to `weight` at z_full and on to `cap` times that; as far below the
    # typical paper it subtracts, down to -weight.
    z_start: float = 1.5
    z_full: float = 3.5
    # What of a paper the encoder reads: "title" (encoded for the title check already)
    # or "title+abstract" (the abstract's first sentences too; slower to encode).
    features: str = "title+abstract"


def paper_words(title: str, abstract: str) -> str:
    """The text whose words the learner reads: the title counts twice."""
    return f"{title}. {title}. {abstract}"


def _sublinear(counts: sparse.csr_matrix) -> sparse.csr_matrix:
    """Hashed counts to 1 + log(count), L2-normalised."""
    np.log(counts.data, out=counts.data)
    counts.data += 1.0
    return normalize(counts).astype(np.float32).tocsr()


def word_features(texts: Sequence[str]) -> sparse.csr_matrix:
    """Texts x hashed words and two-word phrases: sublinear counts, L2-normalised."""
    return _sublinear(_HASHER.transform(texts))


# Papers' hashed words, by text: a paper is answered by many subscribers and its words do
# not change, so a worker hashes each once (about 1.5 kB a paper: 10,000 is ~15 MB).
_WORD_ROWS: OrderedDict[str, tuple[np.ndarray, np.ndarray]] = OrderedDict()
_WORD_ROWS_LIMIT = 10_000
_WORD_ROWS_LOCK = threading.Lock()


def paper_word_rows(texts: Sequence[str]) -> sparse.csr_matrix:
    """word_features of papers' texts (paper_words), each text hashed once per process."""
    with _WORD_ROWS_LOCK:
        found = {t: row for t in texts if (row := _WORD_ROWS.get(t)) is not None}
        for t in found:
            _WORD_ROWS.move_to_end(t)
    missing = [t for t in dict.fromkeys(texts) if t not in found]
    if missing:
        fresh = word_features(missing)
        for i, t in enumerate(missing):
            cut = slice(fresh.indptr[i], fresh.indptr[i + 1])
            found[t] = (fresh.indices[cut].copy(), fresh.data[cut].copy())
        with _WORD_ROWS_LOCK:
            _WORD_ROWS.update((t, found[t]) for t in missing)
            while len(_WORD_ROWS) > _WORD_ROWS_LIMIT:
                _WORD_ROWS.popitem(last=False)
    parts = [found[t] for t in texts]
    indptr = np.zeros(len(texts) + 1, dtype=np.int32)
    np.cumsum([len(indices) for indices, _ in parts], out=indptr[1:])
    indices = np.concatenate([i for i, _ in parts]) if parts else np.zeros(0, np.int32)
    data = np.concatenate([d for _, d in parts]) if parts else np.zeros(0, np.float32)
    return sparse.csr_matrix((data, indices, indptr), shape=(len(texts), WORD_FEATURES))


def prior_words(text: str, dropped: Sequence[str] = ()) -> sparse.csr_matrix:
    """The interests' own text as the learner reads its words, without the dropped terms:
    as in the description's query (digest.ranking.dropping), a dropped word takes the
    phrases holding it along, and a dropped phrase its own words. (Kept per process: a
    subscriber's text recurs at every refit. Read it, do not change it.)"""
    return _prior_words(text, tuple(dropped))


@lru_cache(maxsize=4096)
def _prior_words(text: str, dropped: tuple[str, ...]) -> sparse.csr_matrix:
    grams = _ANALYSE(text)
    # Each dropped term as the analyser's words (its unigrams, stop words left out), plurals
    # folded on both sides as the reading shows them ("neural network" drops "networks").
    terms = [
        words for d in dropped if (words := tuple(singular(g) for g in _ANALYSE(d) if " " not in g))
    ]
    if terms:
        grams = [g for g in grams if not _holds_dropped(tuple(map(singular, g.split())), terms)]
    return _sublinear(_GRAMS_HASHER.transform([grams]))


def _holds_dropped(gram: tuple[str, ...], terms: Sequence[tuple[str, ...]]) -> bool:
    return any(contains_phrase(gram, t) or contains_phrase(t, gram) for t in terms)


def learner_rows(words: sparse.csr_matrix, vectors: np.ndarray) -> sparse.csr_matrix:
    """The learner's rows: hashed words, then the (L2-normalised) encoder vector."""
    vectors = np.asarray(vectors, dtype=np.float32).reshape(-1, DIMENSIONS)
    n = vectors.shape[0]
    # The dense part as CSR built directly (from an array scipy goes through COO, slowly).
    dense = sparse.csr_matrix(
        (vectors.ravel(), np.tile(np.arange(DIMENSIONS, dtype=np.int32), n),
         np.arange(0, n * DIMENSIONS + 1, DIMENSIONS, dtype=np.int32)),
        shape=(n, DIMENSIONS),
    )  # fmt: skip
    return sparse.hstack([words, dense], format="csr", dtype=np.float32)


def paper_rows(
    encoder: Encoder, papers: Sequence[tuple[str, str]], config: LearnerConfig
) -> sparse.csr_matrix:
    """(title, abstract) pairs as the learner reads them: hashed words, then the encoder's
    vector (from the machine's term store when the paper was encoded before)."""
    vectors = encoder.encode_terms([paper_text(t, a, config.features) for t, a in papers])
    return learner_rows(paper_word_rows([paper_words(t, a) for t, a in papers]), vectors)


@dataclass(frozen=True)
class Background:
    """A sample of recent papers as the learner reads them, with their ids."""

    rows: sparse.csr_matrix
    ids: frozenset[int]
    order: tuple[int, ...]

    @classmethod
    def of(cls, ids: Sequence[int], rows: sparse.csr_matrix, size: int) -> Background:
        """The first `size` of these papers (pass the newest first)."""
        if rows.shape[0] < 2:
            raise ValueError("a background needs at least two papers")
        kept = tuple(ids[:size])
        return cls(rows[:size].astype(np.float32, copy=False), frozenset(kept), kept)

    def without(self, answered: frozenset[int]) -> sparse.csr_matrix:
        """Its rows, less the papers the subscriber answered."""
        if self.ids.isdisjoint(answered):
            return self.rows
        return self.rows[[i for i, pid in enumerate(self.order) if pid not in answered]]


def learner_fit(
    liked: sparse.csr_matrix,
    disliked: sparse.csr_matrix,
    background: Background,
    prior: sparse.csr_matrix | None = None,
    config: LearnerConfig | None = None,
    answered: frozenset[int] = frozenset(),
) -> LearnerWeights:
    """One subscriber's model from learner rows: their "yes" papers, "no" papers, and their
    interests' own text (`prior`, one row, or None). `answered` are the ids of the answered
    papers, left out of the background."""
    cfg = config or LearnerConfig()
    others = background.without(answered)
    positives = [liked] + ([prior] if prior is not None else [])
    n_yes = sum(m.shape[0] for m in positives)
    if n_yes == 0:
        return LearnerWeights.empty(DIMENSIONS)
    x = sparse.vstack([*positives, disliked, others], format="csr")
    y = np.r_[np.ones(n_yes), np.zeros(disliked.shape[0] + others.shape[0])]
    weight = np.r_[
        np.ones(n_yes), np.full(disliked.shape[0], cfg.no_weight), np.ones(others.shape[0])
    ]
    coef = _svm_coef(x, y, weight, cfg)
    words, direction = coef[:WORD_FEATURES], coef[WORD_FEATURES:]
    heaviest = np.flatnonzero(words != 0)  # 3x faster than on the floats themselves
    if len(heaviest) > cfg.kept_words:
        magnitude = -np.abs(words[heaviest])
        heaviest = np.sort(heaviest[np.argpartition(magnitude, cfg.kept_words)[: cfg.kept_words]])
    # Scaled so that the background scores 0 on average with spread 1, with the weights
    # as they are stored (the words cut to the heaviest).
    kept = np.zeros_like(coef)
    kept[heaviest] = words[heaviest]
    kept[WORD_FEATURES:] = direction
    scores = background.rows @ kept
    spread = float(scores.std()) or 1.0
    bias = -float(scores.mean()) / spread
    return LearnerWeights(
        np.append(direction / spread, bias).astype(np.float32),
        heaviest.astype(np.int64),
        (words[heaviest] / spread).astype(np.float32),
    )


# LinearSVC(random_state=0) seeds liblinear's shuffling with the first draw of that seed.
_LIBLINEAR_SEED = int(np.random.RandomState(0).randint(np.iinfo("i").max))


def _svm_coef(
    x: sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray, cfg: LearnerConfig
) -> np.ndarray:
    """LinearSVC's weights (without the intercept, which the scale replaces).

    scikit-learn's checks around liblinear (labels, class weights, sample weights, each
    validated) cost about as much as the fit itself on these ~600 x 262,528 rows, and a
    refit is little else: so liblinear's trainer is called here as LinearSVC.fit calls it,
    with the inputs built right here. The public path is the fallback, and a test holds
    the two to the same weights."""
    if _liblinear_train is not None:
        try:
            return _liblinear_coef(x, y, sample_weight, cfg)
        except TypeError:  # its signature changed: the public path, slower, same model
            log.warning("scikit-learn's liblinear trainer changed; fitting through LinearSVC")
    model = LinearSVC(C=cfg.c, class_weight="balanced", tol=cfg.tol, max_iter=1000, random_state=0)
    model.fit(x, y, sample_weight=sample_weight)
    return np.asarray(model.coef_).ravel()


def _liblinear_coef(
    x: sparse.csr_matrix, y: np.ndarray, sample_weight: np.ndarray, cfg: LearnerConfig
) -> np.ndarray:
    labels = np.ascontiguousarray(y, dtype=np.float64)
    weights = np.ascontiguousarray(sample_weight, dtype=np.float64)
    # class_weight="balanced" with sample weights: total / (2 x each class's total).
    totals = np.array([weights[labels == 0].sum(), weights[labels == 1].sum()])
    raw, _ = _liblinear_train(
        x,  # float32 or float64 rows: liblinear copies them into its own nodes either way
        labels,
        True,  # sparse
        _get_liblinear_solver_type("ovr", "l2", "squared_hinge", True),
        cfg.tol,
        1.0,  # bias: fit an intercept, intercept_scaling 1
        cfg.c,
        totals.sum() / (2.0 * totals),
        1000,  # max_iter
        _LIBLINEAR_SEED,
        0.1,  # epsilon (unused by this loss)
        weights,
    )
    return np.asarray(raw[0, :-1])


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
    """The text of a paper the encoder reads: its title, or its title and first sentences."""
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


def to_bytes(weights: LearnerWeights) -> bytes:
    words = np.empty(len(weights.word_features), dtype=_WORD_RECORD)
    words["feature"] = weights.word_features
    words["weight"] = weights.word_weights
    return np.asarray(weights.direction, dtype="<f2").tobytes() + words.tobytes()


def from_bytes(data: bytes) -> LearnerWeights | None:
    head = (DIMENSIONS + 1) * 2
    if len(data) < head or (len(data) - head) % _WORD_RECORD.itemsize:
        return None
    words = np.frombuffer(data[head:], dtype=_WORD_RECORD)
    return LearnerWeights(
        np.frombuffer(data[:head], dtype="<f2").astype(np.float32),
        words["feature"].astype(np.int64),
        words["weight"].astype(np.float32),
    )
