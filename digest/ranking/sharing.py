"""What a subscriber's "yes" papers share: the rule the offered terms (reading.answer_terms)
and topics (glossary.answer_topics) both follow.

A term or topic is offered when two more "yes" papers hold it than "no" papers (so nothing
is named before two "yes" answers, and one paper's own names are not), and it is not in
more than 5 % of the day's papers (a keyword it made would not pick theirs out; a small
day's few papers are allowed). It weighs by the log of how much more often the "yes" papers
hold it than the day's papers do, as if five typical papers were among the "yes" ones:
common words ("able", "new") are in both, the subject is in the first.
"""

from __future__ import annotations

import numpy as np

SUPPORT = 2
PRIOR = 5
POOL_SHARE = 0.05


def shared_lift(
    support: np.ndarray, no_support: np.ndarray | None, liked: int, day: np.ndarray, papers: int
) -> np.ndarray:
    """Per term or topic: its lift among `liked` "yes" papers, 0 where it may not be offered.

    `support`/`no_support`: how many "yes"/"no" papers hold each; `day`: how many of the
    day's `papers` do."""
    pool_share = (day + 1.0) / (papers + 1.0)
    share = (support + PRIOR * pool_share) / (liked + PRIOR)
    lift = np.log(np.maximum(share / pool_share, 1.0))
    net = support - no_support if no_support is not None else support
    lift[net < SUPPORT] = 0
    lift[(pool_share > POOL_SHARE) & (day > 2 * SUPPORT)] = 0
    return lift
