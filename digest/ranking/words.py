"""Words and keys for the ranking: tokens, keyword terms, phrases, author names, stems.

Pure functions (cached), used by the text model (text.py), the profiles and the ranker.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

_WORD = re.compile(r"[^\W_]+(?:-[^\W_]+)*")
_QUOTES = "\"'“”‘’«»"
# Words where a trailing "s" is not a plural; stripping it would merge unrelated words.
_NOT_PLURAL = ("ss", "us", "is", "ous", "sis")


def fold(text: str) -> str:
    """Lower case without accents: "Éric Müller" -> "eric muller"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def category_keys(category: str) -> list[str]:
    """The keys a category matches by: "cs.LG" -> ["cs.lg", "cs.*"]; an archive ("cs" or
    "cs.*") -> ["cs.*"]. A paper is filed under all of its keys; a subscriber's category
    is its first key, so "cs" follows the whole archive and "cs.LG" one category."""
    key = fold(category.strip())
    if not key:
        return []
    archive = key.split(".")[0]
    return [key, f"{archive}.*"] if "." in key and not key.endswith(".*") else [f"{archive}.*"]


@lru_cache(maxsize=200_000)
def singular(word: str) -> str:
    """A simple plural folding, applied the same way to papers and to interests."""
    if len(word) < 4 or not word.endswith("s") or word.endswith(_NOT_PLURAL):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


@lru_cache(maxsize=50_000)
def analysed(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(word tokens, hyphenated compounds joined), in one pass over the text, cached per text."""
    words: list[str] = []
    compounds: list[str] = []
    for match in _WORD.findall(fold(text)):
        if "-" in match:
            parts = match.split("-")
            words.extend(singular(w) for w in parts)
            compounds.append(singular("".join(parts)))
        else:
            words.append(singular(match))
    return tuple(words), tuple(compounds)


def _hyphenated_words(text: str) -> Iterator[tuple[str, str]]:
    """(joined compound, as written) for each hyphenated word, matched as `analysed` does."""
    for match in _WORD.findall(fold(text)):
        if "-" in match:
            yield singular(match.replace("-", "")), match


def hyphenated(text: str) -> dict[str, str]:
    """The text's hyphenated words by the joined compound the analysis keeps for them:
    {"zeroshot": "zero-shot"}."""
    return dict(_hyphenated_words(text))


def written_forms(texts: Iterable[str]) -> dict[str, str]:
    """Each joined compound of the texts by its commonest hyphenated spelling: a keyword
    "zeroshot" matches no paper, "zero-shot" matches every way papers write it."""
    counts: Counter[tuple[str, str]] = Counter()
    for text in texts:
        counts.update(_hyphenated_words(text))
    forms: dict[str, str] = {}
    for (joined, word), _ in counts.most_common():
        forms.setdefault(joined, word)
    return forms


def tokens(text: str) -> tuple[str, ...]:
    """Word tokens on word boundaries, folded: "URLs" -> url; "Co-training" -> co, training."""
    return analysed(text)[0]


@dataclass(frozen=True)
class Term:
    """One keyword element of an interest: a word or a phrase, maybe excluded."""

    label: str
    tokens: tuple[str, ...]
    exclude: bool


@lru_cache(maxsize=100_000)
def parse_term(raw: str) -> Term | None:
    text = raw.strip()
    exclude = text.startswith("-")
    if exclude:
        text = text[1:].strip()
    label = text.strip(_QUOTES).strip()
    words = tuple(tokens(label))
    return Term(label, words, exclude) if words else None


def contains_phrase(words: Sequence[str], phrase: tuple[str, ...]) -> bool:
    # The first word is looked for by index(), in C: a phrase is checked against every
    # paper holding all its words when first met, most of them long abstracts.
    first, n = phrase[0], len(phrase)
    at = -1
    try:
        while True:
            at = words.index(first, at + 1)
            if tuple(words[at : at + n]) == phrase:
                return True
    except ValueError:  # no further occurrence of the first word
        return False


class PhraseIndex:
    """Which papers contain a term, in the title or anywhere; built once per pool."""

    def __init__(self, titles: Sequence[str], abstracts: Sequence[str]) -> None:
        self.title_words = [tokens(t) for t in titles]
        self.all_words = [tw + tokens(a) for tw, a in zip(self.title_words, abstracts, strict=True)]
        self._postings: dict[str, list[int]] = {}
        for i, words in enumerate(self.all_words):
            for w in set(words):
                self._postings.setdefault(w, []).append(i)

    def hits(self, phrase: tuple[str, ...]) -> tuple[list[int], list[int]]:
        """(papers matching anywhere, papers matching in the title), as index lists."""
        lists: list[list[int]] = [self._postings.get(w, []) for w in set(phrase)]
        if not all(lists):
            return [], []
        shortest = min(lists, key=lambda hits: len(hits))
        candidates = set(shortest).intersection(*lists)
        if len(phrase) == 1:
            anywhere = sorted(candidates)
        else:
            anywhere = sorted(i for i in candidates if contains_phrase(self.all_words[i], phrase))
        in_title = [i for i in anywhere if contains_phrase(self.title_words[i], phrase)]
        return anywhere, in_title


_SUFFIXES = {"jr", "sr", "ii", "iii", "iv"}


@lru_cache(maxsize=200_000)
def _name_parts(name: str) -> tuple[str, str, bool]:
    """(last name, first name or initial, whether the first name is only an initial)."""
    text = fold(name).strip()
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    parts = [p for p in re.split(r"[\s.]+", text) if p and any(c.isalnum() for c in p)]
    while len(parts) > 1 and parts[-1].strip(".") in _SUFFIXES:
        parts.pop()
    if not parts:
        return "", "", True
    last = re.sub(r"[^\w]", "", parts[-1])
    if len(parts) == 1:
        return last, "", True
    first = parts[0].strip("-")
    initial_only = len(re.sub(r"[^\w]", "", first.split("-")[0])) <= 1
    return last, first, initial_only


def paper_author_keys(name: str) -> list[str]:
    """Keys a paper's author name answers to: "John Smith" -> smith|j, smith|j|john."""
    last, first, initial_only = _name_parts(name)
    if not (last and first):
        return [f"{last}|"] if last else []
    initial = first[0]
    return [f"{last}|{initial}", f"{last}|{initial}|" + ("?" if initial_only else first)]


def profile_author_keys(name: str) -> list[str]:
    """Keys a followed author matches: "J. Smith" any J. Smith; "John Smith" John or J. only."""
    last, first, initial_only = _name_parts(name)
    if not (last and first):
        return [f"{last}|"] if last else []
    initial = first[0]
    if initial_only:
        return [f"{last}|{initial}"]
    return [f"{last}|{initial}|{first}", f"{last}|{initial}|?"]


# Suffixes folded for text similarity only (keywords match exactly, up to plurals).
_SUFFIXES_STEM = (
    *("ations", "ation", "ings", "ing", "ions", "ion"),
    *("ive", "ments", "ment", "ness", "ed"),
)


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """A light suffix folding: adapting, adaptation, adaptive -> adapt; pruning, pruned -> prun."""
    for suffix in _SUFFIXES_STEM:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            word = word[: -len(suffix)]
            break
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    if len(word) > 4 and word[-1] == word[-2] and word[-1] not in "lsz":
        word = word[:-1]
    return word


def analyzer(ngram_max: int, stop_words: frozenset[str], stemmed: bool = False):
    def analyze_text(text: str) -> list[str]:
        words, compounds = analysed(text)
        # N-grams of adjacent words only: a stop word between two words breaks the phrase.
        kept = [
            None if w in stop_words or w.isdigit() else (stem(w) if stemmed else w) for w in words
        ]
        grams = [w for w in kept if w]
        for n in range(2, ngram_max + 1):
            grams.extend(
                " ".join(gram)
                for gram in zip(*(kept[i:] for i in range(n)), strict=False)
                if all(gram)
            )
        grams.extend(stem(c) if stemmed else c for c in compounds if c not in stop_words)
        return grams

    def analyze(document: str | tuple[str, ...]) -> list[str]:
        """A text, or a paper as (title, abstract) with the title counted `title_repeat` times."""
        if isinstance(document, str):
            return analyze_text(document)
        grams: list[str] = []
        for part in document:
            grams.extend(analyze_text(part))
        return grams

    return analyze


STOP_WORDS = frozenset(singular(w) for w in ENGLISH_STOP_WORDS) | {
    "paper",
    "propose",
    "proposed",
    "approach",
    "method",
    "result",
    "show",
    "work",
    "novel",
    "interested",
    "interest",
    "like",
    "want",
    "papers",
}
