"""Terms a subscriber dropped from the reading of their description: which of the text
model's features they remove, and the queries without them.

A dropped term removes every feature made of it or holding it: dropping "network" removes
"network", "neural network" and "graph network"; dropping the phrase "neural network"
removes the phrase and the words it is made of ("neural", "network"), the way the reading
shows them as one term, but not "graph network". A hyphenated term also removes its joined
compound ("teacher-student": "teacherstudent").
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse
from sklearn.preprocessing import normalize

from .words import STOP_WORDS, analysed, contains_phrase, fold, stem

if TYPE_CHECKING:
    from .text import TextModel

_Index = dict[str, list[tuple[int, tuple[str, ...]]]]
# Per fitted text model: each word's features (a feature is a word or a phrase of words),
# as (column, its words); built on the first drop, once per model and process.
_WORD_INDEX: weakref.WeakKeyDictionary[TextModel, _Index] = weakref.WeakKeyDictionary()


def normalise_dropped(terms: Iterable[str]) -> tuple[str, ...]:
    """The dropped terms as one canonical tuple (folded, sorted, without repeats), so that
    subscribers who dropped the same terms share one query."""
    return tuple(sorted({" ".join(fold(t).split()) for t in terms if t and t.strip()}))


def _patterns(term: str, stemmed: bool) -> list[tuple[str, ...]]:
    words, compounds = analysed(term)
    kept = tuple(stem(w) if stemmed else w for w in words if w not in STOP_WORDS)
    found = [kept] if kept else []
    found.extend((stem(c) if stemmed else c,) for c in compounds if c not in STOP_WORDS)
    return found


def _word_index(model: TextModel) -> _Index:
    index = _WORD_INDEX.get(model)
    if index is None:
        index = {}
        for feature, column in model.vectorizer.vocabulary_.items():
            words = tuple(feature.split(" "))
            for word in set(words):
                index.setdefault(word, []).append((int(column), words))
        _WORD_INDEX[model] = index
    return index


def dropped_columns(model: TextModel, terms: Iterable[str]) -> list[int]:
    """The text model's feature columns the dropped `terms` remove, sorted."""
    if model.papers is None:
        return []
    index = _word_index(model)
    columns: set[int] = set()
    for term in terms:
        for pattern in _patterns(term, model.config.stemmed):
            for word in set(pattern):
                for column, feature in index.get(word, ()):
                    if contains_phrase(feature, pattern) or contains_phrase(pattern, feature):
                        columns.add(column)
    return sorted(columns)


def dropped_matrix(model: TextModel, dropped: Sequence[Sequence[str]]) -> sparse.csr_matrix | None:
    """Rows x features, 1 where that row's dropped terms remove the feature; None when no
    row dropped anything (the common case costs nothing)."""
    if model.papers is None or not any(dropped):
        return None
    known: dict[tuple[str, ...], list[int]] = {}
    rows: list[int] = []
    cols: list[int] = []
    for r, terms in enumerate(dropped):
        key = normalise_dropped(terms)
        if key and key not in known:
            known[key] = dropped_columns(model, key)
        found = known.get(key, [])
        rows.extend([r] * len(found))
        cols.extend(found)
    data = np.ones(len(rows), dtype=np.float32)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(dropped), model.papers.shape[1]))


def without(queries: sparse.csr_matrix, mask: sparse.csr_matrix | None) -> sparse.csr_matrix:
    """The queries with the masked features removed, each row of unit length again."""
    if mask is None:
        return queries
    kept = queries - queries.multiply(mask)
    kept = sparse.csr_matrix(kept)
    kept.eliminate_zeros()
    return normalize(kept).astype(np.float32).tocsr()
