"""Plain-English glosses of the field's terms, as extra ways to reach them in meaning.

A subscriber writes "shrinking a big network into a small one that copies it"; papers write
"knowledge distillation". The sentence encoder finds a bare term far from a whole sentence
in everyday words, and a gloss ("training a small, cheap network to copy the answers of a
big one") close to it. So a day's candidate term is as close to a description as the
closest of its glosses, when that is closer than the term itself. The glosses are in
`semantic/glossary.json` (how they were written: `semantic/GLOSSARY.md`).
"""

from __future__ import annotations

import functools
import json
import logging
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from . import sharing
from .words import analysed

if TYPE_CHECKING:
    from .text import TextModel
    from .types import PaperDoc

log = logging.getLogger(__name__)

GLOSSARY_PATH = Path(__file__).parent / "semantic" / "glossary.json"
# A gloss counts for a text only within this of the text's closest gloss (cosine).
_MARGIN = 0.1


@dataclass(frozen=True)
class Entry:
    """One concept: the field's words for it, and plain-English phrasings of it."""

    terms: tuple[str, ...]
    glosses: tuple[str, ...]


@functools.cache
def entries() -> tuple[Entry, ...]:
    """The glossary's entries, read once per process; none, with one warning, when the file
    cannot be read: descriptions are then read as before the glossary, not left unread."""
    found, error = _read()
    if error:
        log.warning("glossary unreadable, descriptions read without it: %s", error)
    return found


def problem() -> str | None:
    """Why the glossary cannot be read, or None (for the deploy checks: read afresh)."""
    return _read()[1]


def _read() -> tuple[tuple[Entry, ...], str | None]:
    """The entries of the file at GLOSSARY_PATH, or none and why."""
    try:
        with open(GLOSSARY_PATH, encoding="utf-8") as file:
            items = json.load(file)
        return tuple(Entry(_strings(i["terms"]), _strings(i["glosses"])) for i in items), None
    except (OSError, ValueError, KeyError, TypeError) as error:
        return (), f"{GLOSSARY_PATH}: {error!r}"


def _strings(values) -> tuple[str, ...]:
    if isinstance(values, str) or not all(isinstance(v, str) for v in values):
        raise TypeError(f"expected a list of strings, got {values!r}")
    return tuple(values)


def term_features(term: str, analyze: Callable[[str], list[str]]) -> set[str]:
    """The features a glossary term names: its longest phrase as the day's model cuts it
    (a model of two-word phrases reads "large language model" as "large language" and
    "language model") and its hyphenated compounds ("pre-training" is also "pretraining")."""
    grams = analyze(term)
    compounds = set(analysed(term)[1])
    phrases = [g for g in grams if g not in compounds]
    longest = max((g.count(" ") for g in phrases), default=0)
    return {g for g in phrases if g.count(" ") == longest} | (compounds & set(grams))


def entry_features(entry: Entry, analyze: Callable[[str], list[str]]) -> set[str]:
    """The features an entry's glosses reach: its terms' features, less those that are a
    part of a longer one ("vision" of "computer vision", "robust" of "adversarial
    robustness"): a part names something broader than the concept the glosses describe."""
    features = {f for term in entry.terms for f in term_features(term, analyze)}
    return {f for f in features if not any(f != g and f in g for g in features)}


class DayGlosses:
    """Every gloss of the glossary, encoded once (the scale a text's closeness to a gloss
    is read on), and a link from each gloss to the day's candidates its entry names."""

    def __init__(
        self,
        names: Sequence[str],
        analyze: Callable[[str], list[str]],
        encoder,
        glossary: Sequence[Entry],
    ) -> None:
        index = {name: i for i, name in enumerate(names)}
        texts = sorted({gloss for entry in glossary for gloss in entry.glosses})
        position = {text: i for i, text in enumerate(texts)}
        links: set[tuple[int, int, int]] = set()
        for e, entry in enumerate(glossary):
            candidates = {index[f] for f in entry_features(entry, analyze) if f in index}
            links.update((c, position[gloss], e) for c in candidates for gloss in entry.glosses)
        ordered = sorted(links)
        self.vectors = encoder.encode_terms(texts) if ordered else np.zeros((0, 0), np.float32)
        self.gloss_of_link = np.array([g for _, g, _ in ordered], dtype=np.intp)
        self.entry_of_link = np.array([e for _, _, e in ordered], dtype=np.intp)
        link_targets = np.array([c for c, _, _ in ordered], dtype=np.intp)
        self.targets, self.starts = np.unique(link_targets, return_index=True)
        # Entries x candidates: which of the day's candidates each entry names.
        self.names_of_entry = sparse.csr_matrix(
            (np.ones(len(ordered), dtype=np.float32), (self.entry_of_link, link_targets)),
            shape=(len(glossary), len(names)),
        )

    def __len__(self) -> int:
        return len(self.gloss_of_link)

    def lift(
        self,
        closeness: np.ndarray,
        text_vectors: np.ndarray,
        weight: float,
        dropped: sparse.csr_matrix | None = None,
    ) -> None:
        """Raises each text's closeness to a candidate to that of its closest gloss, where
        the gloss is the closer; in place.

        Two sentences in everyday words are closer to each other than a sentence is to a
        bare term, whatever they say: raw, a loosely related gloss outranks the right term.
        So a text's closeness to the glosses is put on the scale of its closeness to the
        terms: standardised over all the glossary's glosses, then given the mean and spread of the
        terms' (`weight` times that spread): only a gloss that stands out among the glosses
        stands out among the terms.

        `dropped` (texts x candidates, nonzero where a text's subscriber dropped the term):
        an entry naming a dropped term lifts none of its terms for that text; dropping
        "speech recognition" drops what its glosses would bring back ("automatic speech")."""
        if not len(self):
            return
        per_gloss = text_vectors @ self.vectors.T
        spread = per_gloss.std(axis=1, keepdims=True)
        standard = (per_gloss - per_gloss.mean(axis=1, keepdims=True)) / np.maximum(spread, 1e-6)
        on_terms = closeness.mean(axis=1, keepdims=True) + standard * (
            np.float32(weight) * closeness.std(axis=1, keepdims=True)
        )
        # Only the concepts the text is about: a description of making chatbots refuse
        # harmful requests is close to every gloss about chatbots, and on a day without its
        # own concept's terms the next chatbot concept's ("kv cache") would stand in.
        nearest = per_gloss.max(axis=1, keepdims=True) - _MARGIN
        on_terms[per_gloss < nearest] = -np.inf
        per_link = on_terms[:, self.gloss_of_link]
        if dropped is not None and dropped.nnz:
            gone = (dropped @ self.names_of_entry.T).tocsr()
            for row in np.flatnonzero(np.diff(gone.indptr)).tolist():
                entries = gone.indices[gone.indptr[row] : gone.indptr[row + 1]]
                per_link[row, np.isin(self.entry_of_link, entries)] = -np.inf
        best = np.maximum.reduceat(per_link, self.starts, axis=1)
        closeness[:, self.targets] = np.maximum(closeness[:, self.targets], best)


# Topics offered beside the reading of a description.
TOPICS = 6


@dataclass(frozen=True)
class Topic:
    """A glossary entry offered as a topic to follow: its name, the gloss closest to the
    description (what a person who does not know the name recognises), and the keywords
    following it adds."""

    name: str
    gloss: str
    keywords: tuple[str, ...]


def topic_keywords(entry: Entry) -> tuple[str, ...]:
    """The entry's terms as keywords, each spelling once ("meta-learning", not also
    "metalearning"), less a single word inside a longer term ("scaling" of "scaling laws",
    "attention" of "attention mechanism"): alone it names something broader."""
    joined = {t: _joined(t) for t in dict.fromkeys(t.strip() for t in entry.terms) if t}
    seen: set[str] = set()
    out = []
    for term, key in joined.items():
        inside = " " not in term and any(key != other and key in other for other in joined.values())
        if key not in seen and not inside:
            out.append(term)
        seen.add(key)
    return tuple(out)


def _joined(term: str) -> str:
    """A term without case, spaces, hyphens or a plural "s": one key for its spellings."""
    return "".join(term.lower().replace("-", " ").split()).removesuffix("s")


def topics_for(text_vector: np.ndarray, encoder, limit: int = TOPICS) -> tuple[Topic, ...]:
    """The glossary's entries closest to a description (by their closest gloss), closest
    first: for a subscriber who writes in everyday words to recognise the field's name for
    what they mean, and follow it."""
    glossary = entries()
    if not glossary:
        return ()
    vectors, owners, texts = _gloss_vectors(encoder, glossary)
    closeness = vectors @ np.asarray(text_vector, dtype=np.float32)
    # An entry is as close as its closest gloss, or its name, for a description in the
    # field's own words ("speech recognition").
    best = _name_vectors(encoder, glossary) @ np.asarray(text_vector, dtype=np.float32)
    np.maximum.at(best, owners, closeness)
    order = np.lexsort((np.arange(len(glossary)), -best))[:limit]
    topics = []
    for e in order.tolist():
        mine = np.flatnonzero(owners == e)
        gloss = texts[int(mine[np.argmax(closeness[mine])])]
        entry = glossary[e]
        topics.append(Topic(entry.terms[0], gloss, topic_keywords(entry)))
    return tuple(topics)


def topic_named(name: str) -> Topic | None:
    """The topic whose name is `name` (its first term), as the follow button sends it."""
    for entry in entries():
        if entry.terms and entry.terms[0] == name:
            return Topic(entry.terms[0], entry.glosses[0], topic_keywords(entry))
    return None


@functools.lru_cache(maxsize=2)
def _name_vectors(encoder, glossary: tuple[Entry, ...]) -> np.ndarray:
    """Every entry's name's vector; once per process."""
    return encoder.encode_terms([entry.terms[0] for entry in glossary])


@functools.lru_cache(maxsize=2)
def _gloss_vectors(
    encoder, glossary: tuple[Entry, ...]
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Every gloss's vector, the entry it belongs to, and its text; once per process."""
    texts = tuple(g for entry in glossary for g in entry.glosses)
    owners = np.array([e for e, entry in enumerate(glossary) for _ in entry.glosses], np.intp)
    return encoder.encode_terms(list(texts)), owners, texts


# Topics offered from a subscriber's answers: how many, and the support a topic needs.
ANSWER_TOPICS = 3
_HOLDERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_DAY_BLOCK = 512


def answer_topics(
    model: TextModel,
    liked: Sequence[PaperDoc],
    disliked: Sequence[PaperDoc] = (),
    *,
    shown: Sequence[str] = (),
    limit: int = ANSWER_TOPICS,
) -> tuple[Topic, ...]:
    """The topics the subscriber's "yes" papers share and their "no" papers lack, by the
    rule of digest.ranking.sharing (a topic is held where one of its keywords is, whole).
    Topics named in `shown` are left out."""
    glossary = entries()
    if len(liked) < sharing.SUPPORT or model.papers is None or not glossary:
        return ()
    holders, day = _holders(model, glossary)
    no_support = _holding(holders, _rows(model, disliked)) if disliked else None
    score = sharing.shared_lift(
        _holding(holders, _rows(model, liked)),
        no_support,
        len(liked),
        day,
        model.papers.shape[0],
    )
    known = set(shown)
    found: list[Topic] = []
    for e in np.lexsort((np.arange(len(glossary)), -score)).tolist():
        if score[e] <= 0 or len(found) >= limit:
            break
        entry = glossary[e]
        if entry.terms[0] not in known:
            found.append(Topic(entry.terms[0], entry.glosses[0], topic_keywords(entry)))
    return tuple(found)


def _holding(holders: _Holders, rows: sparse.csr_matrix) -> np.ndarray:
    """For each entry, how many of the papers (TF-IDF rows) hold one of its keywords."""
    present = (rows > 0).astype(np.float32)
    held = (present @ holders.keywords.T).toarray() >= holders.needed  # papers x keywords
    return np.asarray(((held.astype(np.float32) @ holders.entry_of) > 0).sum(axis=0)).ravel()


@dataclass(frozen=True)
class _Holders:
    """Keywords x features (1 where a keyword needs the feature), how many each needs, and
    keywords x entries: a paper holds a keyword when it has all of its longest phrases
    ("data free" and "free distillation" for "data-free distillation"), not one word."""

    keywords: sparse.csr_matrix
    needed: np.ndarray
    entry_of: sparse.csr_matrix


def _holders(model: TextModel, glossary: tuple[Entry, ...]) -> tuple[_Holders, np.ndarray]:
    """The entries' keyword holders for the day's model, and how many of its papers hold
    each entry; once per fitted day."""
    cached = _HOLDERS.get(model)
    if cached is not None and cached[0] is glossary:
        return cached[1], cached[2]
    analyze = model.vectorizer.build_analyzer()
    vocabulary = model.vectorizer.vocabulary_
    rows: list[int] = []
    cols: list[int] = []
    needed: list[int] = []
    owners: list[int] = []
    for e, entry in enumerate(glossary):
        for keyword in topic_keywords(entry):
            grams = analyze(keyword)
            longest = max((g.count(" ") for g in grams), default=0)
            wanted = {g for g in grams if g.count(" ") == longest}
            if not wanted or not wanted <= vocabulary.keys():
                continue  # not in today's words at all: no paper holds it
            k = len(needed)
            rows.extend([k] * len(wanted))
            cols.extend(vocabulary[g] for g in sorted(wanted))
            needed.append(len(wanted))
            owners.append(e)
    matrix = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(needed), len(vocabulary))
    )
    entry_of = sparse.csr_matrix(
        (np.ones(len(owners), np.float32), (np.arange(len(owners)), owners)),
        shape=(len(owners), len(glossary)),
    )
    holders = _Holders(matrix, np.array(needed, np.float32)[None, :], entry_of)
    # The day's papers in blocks: each block's papers x keywords is dense.
    assert model.papers is not None
    blocks = range(0, model.papers.shape[0], _DAY_BLOCK)
    day = np.asarray(sum(_holding(holders, model.papers[a : a + _DAY_BLOCK]) for a in blocks))
    _HOLDERS[model] = (glossary, holders, day)
    return holders, day


def _rows(model: TextModel, papers: Sequence[PaperDoc]) -> sparse.csr_matrix:
    return model.transform([model.document(p.title, p.abstract) for p in papers])
