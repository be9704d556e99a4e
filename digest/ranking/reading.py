"""What Paperboy made of a description: the reading shown under the description field.

The terms are the heaviest features of the query the ranking itself builds from the
description (its words, the nearest terms in meaning, the pseudo-relevance feedback terms),
after the subscriber's dropped terms are removed; the categories are those most of the
papers it matches today share. Deterministic: the same day, text and drops, the same reading.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from . import sharing
from .dropping import dropped_columns, normalise_dropped
from .text import TextModel
from .words import hyphenated, tokens

if TYPE_CHECKING:
    from .ranker import Ranker
    from .types import PaperDoc

# Terms shown, and the matched papers whose categories are counted.
TERMS = 8
TOP_PAPERS = 10
# A category is named when at least this share of the matched papers is filed under it.
CATEGORY_SHARE = 0.5
CATEGORIES = 3

_NAMES: weakref.WeakKeyDictionary[TextModel, np.ndarray] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ReadTerm:
    label: str  # what the subscriber reads, keeps as a keyword or drops
    weight: float  # the weight of its heaviest feature in the query (rows have unit length)
    own: bool  # one of the description's own words, not an expansion


@dataclass(frozen=True)
class Reading:
    terms: tuple[ReadTerm, ...] = ()
    categories: tuple[str, ...] = ()
    matches: int = 0  # papers of the pool the description alone would bring in
    dropped: tuple[str, ...] = ()


def _names(model: TextModel) -> np.ndarray:
    names = _NAMES.get(model)
    if names is None:
        names = _NAMES[model] = model.vectorizer.get_feature_names_out()
    return names


def _shown(feature: str) -> bool:
    # "model's" leaves a lone "s": a real feature, but nothing a person would keep or drop.
    return all(len(w) > 1 and not w.isdigit() for w in feature.split(" "))


def read_terms(
    model: TextModel, description: str, query, limit: int = TERMS
) -> tuple[ReadTerm, ...]:
    """The query's heaviest features as terms; a word inside a phrase already shown is
    part of that phrase's term (dropping the phrase drops it too, see dropping.py)."""
    row = query.tocsr()
    names = _names(model)
    own = set(model.transform([description]).indices.tolist())
    order = sorted(
        zip(row.indices.tolist(), row.data.tolist(), strict=True),
        key=lambda cw: (-round(cw[1], 6), str(names[cw[0]])),
    )
    labels = hyphenated(description)
    terms: list[ReadTerm] = []
    shown: list[tuple[str, ...]] = []
    for column, weight in order:
        feature = str(names[column])
        if weight <= 0 or not _shown(feature):
            continue
        label = _label(model, labels, feature)
        # By the label's words: "zero-shot" (the joined "zeroshot") is "zero shot" again.
        words = tokens(label)
        if any(_inside(words, other) for other in shown):
            continue
        shown.append(words)
        terms.append(ReadTerm(label, round(weight, 4), column in own))
        if len(terms) >= limit:
            break
    return tuple(terms)


def _label(model: TextModel, own: dict[str, str], feature: str) -> str:
    """A feature as people write it: a compound or a phrase hyphenated as the description
    writes it, else as the day's papers mostly do ("zero-shot", not the model's joined
    "zeroshot": a keyword spelt so would match no paper)."""
    joined = feature.replace(" ", "")
    for written in (own.get(joined), model.hyphenated_form(joined)):
        if written and "".join(tokens(written)) == joined:
            return written
    return feature


def _inside(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    n = len(words)
    return any(phrase[i : i + n] == words for i in range(len(phrase) - n + 1))


def read_description(
    ranker: Ranker,
    description: str,
    *,
    dropped: Sequence[str] = (),
    vector: np.ndarray | None = None,
    limit: int = TERMS,
) -> Reading:
    """The reading of `description` against the ranker's day, after `dropped` terms."""
    text = description.strip()
    dropped = normalise_dropped(dropped)
    model = ranker.text
    if not text or model.papers is None:
        return Reading(dropped=dropped)
    vectors = [vector] if vector is not None else None
    query = model.queries([text], vectors, [dropped])
    terms = read_terms(model, text, query, limit)
    matched = _matched(ranker, text, query, vectors)
    return Reading(terms, _categories(ranker, matched), len(matched), dropped)


def _matched(ranker: Ranker, text: str, query, vectors) -> list[int]:
    """The papers the description alone brings above the floor, best first, as the
    ranking scores them (the title check included)."""
    model, w = ranker.text, ranker.weights
    relevance = model.similarity(query)[0] * (w.description / w.similar_full)
    np.clip(relevance, 0.0, w.description * w.similar_cap, out=relevance)
    if model.config.semantic_gate > 0:
        own = model.text_vectors([text], vectors)
        if own is not None:
            relevance[model.title_closeness(own)[0] < model.config.semantic_gate] = 0
    order = np.lexsort((np.arange(len(relevance)), -relevance))
    return [int(i) for i in order if relevance[i] >= ranker.floor]


def _categories(ranker: Ranker, matched: list[int]) -> tuple[str, ...]:
    top = matched[:TOP_PAPERS]
    if not top:
        return ()
    counts = Counter(c for i in top for c in dict.fromkeys(ranker.papers[i].categories))
    needed = max(CATEGORY_SHARE * len(top), 1)
    common = sorted((c for c, n in counts.items() if n >= needed), key=lambda c: (-counts[c], c))
    return tuple(common[:CATEGORIES])


# Terms shown from the subscriber's answers.
ANSWER_TERMS = 6
# A "no" paper's terms count against, at this share of a "yes" paper's.
ANSWER_NO_SHARE = 0.5


def answer_terms(
    ranker: Ranker,
    liked: Sequence[PaperDoc],
    disliked: Sequence[PaperDoc] = (),
    *,
    shown: Sequence[str] = (),
    limit: int = ANSWER_TERMS,
) -> tuple[ReadTerm, ...]:
    """The terms the subscriber's "yes" papers share and their "no" papers lack, heaviest
    first: what their answers say in words, for them to keep as keywords.

    The centroid of the "yes" papers' TF-IDF rows, less half the "no" papers' centroid,
    over the day's vocabulary, weighed and offered by the rule of digest.ranking.sharing.
    Terms in `shown` (the reading's, the keywords, the dropped ones) are left out, with the
    words inside them."""
    model = ranker.text
    frequency = model.document_frequency
    if len(liked) < sharing.SUPPORT or model.papers is None or frequency is None:
        return ()
    rows = model.transform([model.document(p.title, p.abstract) for p in liked])
    support = np.asarray((rows > 0).sum(axis=0)).ravel()
    centroid = np.asarray(rows.mean(axis=0)).ravel()
    no_support = None
    if disliked:
        against = model.transform([model.document(p.title, p.abstract) for p in disliked])
        centroid -= ANSWER_NO_SHARE * np.asarray(against.mean(axis=0)).ravel()
        no_support = np.asarray((against > 0).sum(axis=0)).ravel()
    centroid *= sharing.shared_lift(
        support, no_support, len(liked), frequency, model.papers.shape[0]
    )
    centroid[dropped_columns(model, shown)] = 0
    _prefer_phrases(model, centroid)
    query = sparse.csr_matrix(np.clip(centroid, 0, None).astype(np.float32)[None, :])
    return read_terms(model, "", query, limit)


def _prefer_phrases(model: TextModel, weights: np.ndarray) -> None:
    """Folds the words of each phrase with weight into the phrase ("knowledge" and
    "distillation" into "knowledge distillation") and drops its joined compound
    ("parameterefficient" beside "parameter efficient"): one term, as people write it."""
    names, vocabulary = _names(model), model.vectorizer.vocabulary_
    phrases = [c for c in np.flatnonzero(weights > 0) if " " in str(names[c])]
    parts = {}
    for column in phrases:
        feature = str(names[column])
        inside = [vocabulary.get(w) for w in feature.split(" ")]
        inside.append(vocabulary.get(feature.replace(" ", "")))
        parts[column] = [c for c in inside if c is not None]
    folded = {c: max([weights[c], *(weights[i] for i in parts[c])]) for c in phrases}
    for column in phrases:
        weights[parts[column]] = 0
    for column, weight in folded.items():
        weights[column] = weight
