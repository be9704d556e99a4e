"""A paper's gist: the one sentence of its abstract that states what the paper does.

Chosen offline, with no model: every sentence is scored on features that mark a
contribution statement in an abstract, and the best one wins.

- cue phrases: "we propose", "we introduce", "this paper presents" (strong); "we show",
  "we study", "in this work" (weaker);
- phrases that mark the other kinds of sentence: background ("recent", "however",
  "has been"), results ("experiments show", "outperforms", percentages) and links
  ("code is available", URLs) count against;
- position: a contribution comes after the first sentence or two of background and
  before the results, so the first half of the abstract is favoured slightly;
- length: a fragment or a run-on sentence makes a poor gist;
- overlap with the title: the sentence that names the method in the title (its acronym,
  its key words) is usually the one that introduces it;
- standing alone: the card shows the sentence without its neighbours, so one that points
  back at them ("This allows ...", "However, these methods ...") counts against, unless
  cutting its opening phrase leaves a whole sentence ("To address this issue, we propose
  X" is shown as "We propose X"; `standalone.py`).

The weights were tuned on the development half of tests/fixtures/gists.json only; the
test half (40 abstracts, marked by hand first) measures it (docs/email.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from .standalone import standing_alone

# A sentence ends at . ! or ? followed by a space and a capital, digit or opening mark;
# abbreviations (e.g., i.e., et al., Fig.) and initials ("J. Smith") do not end one.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[\"'(\[]?[A-Z0-9])")
_ABBREVIATION = re.compile(
    r"(?:\b(?:e\.g|i\.e|et al|etc|vs|cf|Fig|Eq|Sec|resp|approx|Dr|Mr|Ms|No)\.|\b[A-Z]\.)$", re.I
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9-]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "over",
        "the",
        "their",
        "this",
        "to",
        "towards",
        "toward",
        "via",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "with",
        "without",
        "your",
        "you",
        "can",
        "does",
        "do",
        "all",
        "one",
        "two",
        "new",
        "using",
        "based",
    ]
)

_STRONG = re.compile(
    r"\b(?:we|this (?:paper|work|study|report)|here we|our work)\s+(?:\w+\s+){0,2}?"
    r"(?:propose|introduce|present|develop|design|construct|build|curate|release|"
    r"contribute|formulate|devise|put forward)s?\b|\b(?:and|,)\s+propose\b|"
    r"\bmain contributions?\b",
    re.I,
)
_MEDIUM = re.compile(
    r"\b(?:(?:we|this (?:paper|work|study)|our (?:work|study|paper))\s+(?:\w+\s+){0,2}?"
    r"(?:show|demonstrate|investigate|explore|study|studies|examine|analy[sz]e|evaluate|"
    r"address|tackle|aim|take|argue|provide|describe|report|consider)s?\b|"
    r"\bin this (?:paper|work|study|project)\b|\bwe call\b|\bdubbed\b|\bnamed\b|\btermed\b|"
    r"\bcalled\b|\bnovel\b|\bour (?:goal|aim) is\b)",
    re.I,
)
_BACKGROUND = re.compile(
    r"\b(?:recent(?:ly)?|however|has been|have been|have shown|has shown|existing|previous|"
    r"prior work|remains?|despite|although|traditional(?:ly)?|typically|widely|"
    r"challenging|a key|crucial|important)\b",
    re.I,
)
_RESULT = re.compile(
    r"\b(?:experiments?|experimental|results?|outperforms?|surpass(?:es)?|achieves?|"
    r"state-of-the-art|benchmarks?|accuracy|ablations?|evaluat(?:e|ed|ion)s? on)\b|"
    r"\d+(?:\.\d+)?\s*%",
    re.I,
)
_LINK = re.compile(
    r"https?://|github\.com|\bcode\b.*\bavailable\b|\bavailable at\b|"
    r"\brelease\w* (?:our |the |all )?(?:code|models?|weights|checkpoints)\b",
    re.I,
)
# A sentence that opens like this adds to a contribution stated before it.
_SECONDARY = re.compile(
    r"^(?:we also|also|finally|moreover|furthermore|in addition|additionally)\b", re.I
)


# Words one of which a sentence must hold (lowercased) for the pattern beside it to
# match: a substring test costs far less than a case-insensitive alternation, and most
# sentences fail it, so each pattern runs only where it can match (same results).
_NEEDS = {
    "strong": ("propose", "introduce", "present", "develop", "design", "construct", "build",
               "curate", "release", "contribut", "formulate", "devise", "put forward"),
    "medium": ("show", "demonstrat", "investigat", "explor", "stud", "examin", "analy",
               "evaluat", "address", "tackl", "aim", "take", "argu", "provid", "describ",
               "report", "consider", "in this ", "we call", "dubbed", "named", "termed",
               "called", "novel", "our goal"),
    "background": ("recent", "however", "has ", "have ", "existing", "previous", "prior work",
                   "remain", "despite", "although", "tradition", "typically", "widely",
                   "challenging", "a key", "crucial", "important"),
    "result": ("experiment", "result", "outperform", "surpass", "achieve", "state-of-the-art",
               "benchmark", "accuracy", "ablation", "evaluat", "%"),
    "link": ("http", "github", "available", "releas"),
}  # fmt: skip


def _may(kind: str, low: str) -> bool:
    return any(word in low for word in _NEEDS[kind])


@dataclass(frozen=True)
class GistWeights:
    strong_cue: float = 3.0
    medium_cue: float = 1.2
    background: float = -0.6
    result: float = -0.7
    link: float = -4.0
    first_half: float = 0.5
    first_sentence: float = -0.3
    secondary: float = -0.8
    title_overlap: float = 2.5
    title_name: float = 1.5
    too_short: float = -1.5
    too_long: float = -1.0
    leans_on_context: float = -2.5
    short_words: int = 8
    long_words: int = 70


WEIGHTS = GistWeights()


def sentences(text: str) -> list[str]:
    """The abstract's sentences, whitespace normalised."""
    out: list[str] = []
    for piece in _SENTENCE_END.split(" ".join(text.split())):
        # Only the end can hold the abbreviation: searching the whole piece costs more.
        if out and _ABBREVIATION.search(out[-1][-20:]):
            out[-1] += " " + piece
        elif piece:
            out.append(piece)
    return out


def _title_terms(title: str) -> tuple[frozenset[str], str]:
    """The title's content words (lowercased), and its name before a colon if it has one
    ("AdapterFusion: Non-Destructive ..." names "adapterfusion")."""
    words = frozenset(w.lower() for w in _WORD.findall(title) if w.lower() not in _STOP)
    head, colon, _ = title.partition(":")
    name = head.strip().lower() if colon and len(head.split()) <= 3 else ""
    return words, name


def sentence_scores(title: str, parts: list[str], w: GistWeights = WEIGHTS) -> list[float]:
    """One score per sentence; the gist is the highest (the earliest on a tie)."""
    terms, name = _title_terms(title)
    n = len(parts)
    return [
        _cue_score(sentence, w)
        + _shape_score(sentence, i, n, terms, name, w)
        + (w.leans_on_context if standing_alone(sentence) is None else 0.0)
        for i, sentence in enumerate(parts)
    ]


def _cue_score(sentence: str, w: GistWeights) -> float:
    """What the sentence's words say it is: a contribution, background, a result."""
    score = 0.0
    low = sentence.lower()
    if _may("strong", low) and _STRONG.search(sentence):
        score += w.strong_cue
    elif _may("medium", low) and _MEDIUM.search(sentence):
        score += w.medium_cue
    if _may("background", low):
        score += w.background * min(len(_BACKGROUND.findall(sentence)), 2)
    if _may("result", low):
        score += w.result * min(len(_RESULT.findall(sentence)), 2)
    if _may("link", low) and _LINK.search(sentence):
        score += w.link
    if _SECONDARY.search(sentence):
        score += w.secondary
    return score


def _shape_score(
    sentence: str, i: int, n: int, terms: frozenset[str], name: str, w: GistWeights
) -> float:
    """Where the sentence stands, how long it is, and how much of the title it repeats."""
    score = 0.0
    low = sentence.lower()
    if n > 2 and i < n / 2:
        score += w.first_half
    if i == 0 and n > 3:
        score += w.first_sentence
    words = set(_WORD.findall(low))
    if terms:
        score += w.title_overlap * len(terms & words) / len(terms)
    if name and name in low:
        score += w.title_name
    length = len(sentence.split())
    if length < w.short_words:
        score += w.too_short
    elif length > w.long_words:
        score += w.too_long
    return score


def choose_gist(title: str, abstract: str, w: GistWeights = WEIGHTS) -> str:
    """The sentence of `abstract` most likely to state the paper's contribution, as it
    reads on its own ("" if the abstract is empty)."""
    return choose(title, sentences(abstract), w).text


class Gist(NamedTuple):
    position: int  # of the chosen sentence in the abstract's sentences; -1 if there are none
    text: str  # that sentence as the card shows it


def choose(title: str, parts: list[str], w: GistWeights = WEIGHTS) -> Gist:
    """The gist's sentence and its text, for a caller that shows the rest of the abstract."""
    if not parts:
        return Gist(-1, "")
    best = pick(title, parts, w)
    # With no better sentence, one that leans on its neighbours is still shown whole.
    return Gist(best, standing_alone(parts[best]) or parts[best])


def pick(title: str, parts: list[str], w: GistWeights = WEIGHTS) -> int:
    """The index in `parts` (not empty) of the sentence that states the contribution."""
    if len(parts) == 1:
        return 0
    scores = sentence_scores(title, parts, w)
    return max(range(len(parts)), key=lambda i: (scores[i], -i))
