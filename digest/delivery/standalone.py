"""Whether a sentence of an abstract makes sense on its own, and a way to make it do so.

A gist is read alone on a card, without the sentences around it in the abstract, so a
sentence that opens by pointing back at them ("To address this issue, we propose ...",
"However, these methods ...", "This allows ...") reads as a fragment of a conversation.
Three kinds of opening do that:

- a connective: "However,", "Moreover,", "Thus,", "To this end,", "In response," ...;
- a demonstrative or pronoun as the subject: "This allows", "These methods", "Such
  models", "It", "They" (but not "This paper proposes", which names its own referent);
- an opening phrase, up to its comma, that holds one: "To address this issue,", "Based
  on these findings,", "Motivated by this,", "To bridge the gap,".

A short sentence that ends by pointing back and names nothing ("... we study the
following research questions.", "... a promising solution to these challenges.") says
nothing specific either.

Where the opening phrase is followed by a whole sentence of its own (its subject is "we",
"this paper" or "in this work, we"; after a bare connective, anything but another such
opening or a subordinate clause), dropping the phrase leaves a sentence that states what
the abstract states: "To address this issue, we propose CTCD, ..." becomes "We propose
CTCD, ...". Nothing is reworded beyond that one cut and the capital it needs.
"""

from __future__ import annotations

import re

# Words and phrases that join a sentence to the one before it. Those of the second list
# also begin sentences of their own ("Still images ...", "Next-generation ...", "So far"),
# so they count as connectives only before a comma or "we".
_CONNECTIVE = (
    r"however|moreover|furthermore|additionally|in addition|thus|hence|therefore|"
    r"consequently|accordingly|as a result|as an alternative|instead|nevertheless|"
    r"nonetheless|specifically|in particular|in contrast|by contrast|on the other hand|"
    r"conversely|similarly|likewise|finally|firstly|secondly|thirdly|lastly|besides|"
    r"meanwhile|subsequently|concretely|more (?:precisely|specifically|broadly|importantly)|"
    r"in response|to (?:this|that) end|to do (?:so|this|that)|"
    r"for (?:this|that) (?:purpose|reason)|with this|given this|"
    r"in (?:this|that|such a) (?:sense|way|regard|respect|context|setting|case|spirit|vein|light)"
)
_CONNECTIVE_BEFORE_COMMA = (
    r"also|further|yet|still|then|next|first|second|third|indeed|otherwise|in turn|as such|"
    r"and|but|so"
)
# The connective and what separates it from the rest: its comma, or a space before "we".
_OPENS_WITH_CONNECTIVE = re.compile(
    rf"^(?:(?:{_CONNECTIVE})\b\s*,?|(?:{_CONNECTIVE_BEFORE_COMMA})\b(?:\s*,|(?=\s+we\b)))\s+",
    re.I,
)

# The nouns a demonstrative may point at and still name its own referent.
_SELF_NAMING = (
    r"paper|work|study|article|report|survey|review|thesis|letter|note|document|tutorial|"
    r"position paper|chapter|manuscript|publication|project|editorial|dissertation|"
    r"technical report|short paper|abstract|research|contribution|submission|talk|book|"
    r"perspective|commentary|overview|primer|proposal|position"
)
_OPENS_WITH_POINTER = re.compile(
    rf"^(?:(?:this|these|those|that|such)(?!\s+(?:{_SELF_NAMING})\b)"
    rf"(?!\s+is\s+(?:an?|the|our)\s+(?:[\w-]+\s+){{0,3}}?(?:{_SELF_NAMING})\b)|"
    r"it(?!\s+(?:is|has been|remains|was)\s+(?:\w+ly\s+)?(?:unclear|known|believed|shown|"
    r"common|possible|impossible|difficult|hard|easy|important|essential|crucial|"
    r"necessary|natural|tempting|often|well|widely|generally|an open)\b)|"
    r"they|them|their|its|both|the (?:latter|former|above|aforementioned|resulting)|said)\b",
    re.I,
)
# The words that point back, inside an opening phrase ("such as" introduces examples).
_POINTING_WORD = re.compile(
    rf"\b(?:(?:this|these|those|such)(?!\s+as\b)(?!\s+(?:{_SELF_NAMING})\b)|it|its|them|their|"
    r"doing so|the (?:above|aforementioned|previous|former|latter)|"
    r"the (?:\w+[- ])?(?:issues?|problems?|gaps?|challenges?|limitations?|drawbacks?|"
    r"observations?|findings?|investigation|analysis|insights?|above|latter|former|"
    r"questions?|shortcomings?|difficult(?:y|ies)|bottlenecks?)$|"
    r"our (?:findings?|observations?|analysis|insights?|results?|investigation))\b",
    re.I,
)
# An opening phrase: up to the first comma, at most this many words.
_OPENING_MAX_WORDS = 16
_OPENING_MAX_CHARS = 120
_WE = re.compile(r"\bwe\b", re.I)
_SELF_NAMED_SUBJECT = re.compile(rf"(?:this|our) (?:{_SELF_NAMING})\b", re.I)
# What a whole sentence may begin with after its opening phrase is cut.
_OWN_SUBJECT = re.compile(
    r"^(?:(?:here|in (?:this|our|the present) (?:\w+ )?(?:paper|work|study|article|letter|"
    r"report|survey|project)),?\s+)?(?:we|this (?:paper|work|study|article|report|survey|"
    r"letter))\b",
    re.I,
)
# A short sentence that ends by pointing back, and names nothing (no capital or digit
# after its first word), says nothing specific on its own: "To fill this gap, we study
# the following research questions." ("We propose SixT, a model for this task." does.)
_ENDS_WITH_POINTER = re.compile(
    r"\b(?:(?:this|these|those|such|the following|the above)(?:\s+[\w-]+){0,2}|it|them)\W*$",
    re.I,
)
_SHORT_WORDS = 15
_NAMES_SOMETHING = re.compile(r"\s\S*[A-Z0-9]")


def _split_opening(sentence: str) -> tuple[str, str]:
    """The words before the sentence's first comma, if they are few enough to be an
    opening phrase, and what follows the comma; ("", "") if there is none."""
    comma = sentence.find(",", 0, _OPENING_MAX_CHARS + 1)
    phrase = sentence[:comma]
    if (
        comma < 2
        or sentence[comma + 1 : comma + 2] != " "
        or any(mark in phrase for mark in ";:()")
        or phrase.count(" ") >= _OPENING_MAX_WORDS
        # "We address this challenge with X, ..." and "This study removes such
        # distortions, ..." have begun their main clause: what follows is no sentence.
        or _WE.search(phrase)
        or _SELF_NAMED_SUBJECT.match(phrase)
    ):
        return "", ""
    return phrase, sentence[comma + 2 :]


def opens_dependently(sentence: str) -> bool:
    """Whether the sentence's first words point at a sentence before it."""
    if _OPENS_WITH_CONNECTIVE.match(sentence) or _OPENS_WITH_POINTER.match(sentence):
        return True
    phrase, _ = _split_opening(sentence)
    return bool(phrase and _POINTING_WORD.search(phrase))


def leans_on_context(sentence: str) -> bool:
    """Whether the sentence needs the ones around it to make sense: it opens by pointing
    back, or it is short and ends by doing so."""
    if opens_dependently(sentence):
        return True
    return (
        len(sentence.split()) <= _SHORT_WORDS
        and not _NAMES_SOMETHING.search(sentence)
        and bool(_ENDS_WITH_POINTER.search(sentence[-80:]))
    )


def standing_alone(sentence: str) -> str | None:
    """The sentence as a card can show it: itself if it stands alone; without its opening
    connective or phrase if what follows is a whole sentence that stands alone; None if
    neither."""
    if not leans_on_context(sentence):
        return sentence
    for rest in _without_opening(sentence):
        rest = rest[0].upper() + rest[1:]
        if not leans_on_context(rest):
            return rest
    return None


def _without_opening(sentence: str) -> list[str]:
    """What follows the sentence's opening, cut where a whole sentence remains."""
    cuts = []
    connective = _OPENS_WITH_CONNECTIVE.match(sentence)
    if connective and connective.end() < len(sentence):
        # Whatever follows a sentence connective is a sentence ("However, when ..., we").
        cuts.append(sentence[connective.end() :])
    phrase, after = _split_opening(sentence)
    # Other opening phrases hold a verb ("To address this issue"): cut only where the
    # rest visibly has its own subject.
    if phrase and _OWN_SUBJECT.match(after):
        cuts.append(after)
    return cuts
