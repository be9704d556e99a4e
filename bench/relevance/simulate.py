"""Simulated subscribers who answer by the judgements (issue 11), for bench/eval_relevance.py.

For every judged profile:
- day 1: the digest without any feedback;
- onboarding: the subscriber answers the first 10 papers shown (as the papers step shows
  them: the picks closest first, below the digest's floor too, then trending papers),
  "yes" where judged relevant, "no" elsewhere; then the next digest, on the papers not
  yet shown;
- a day of feedback: "more like this" on every relevant paper of day 1's digest and
  "fewer like this" on every other one; then day 2 on the papers not yet sent, beside a
  twin who sent no feedback (same papers already sent);
- kept terms (with `kept_terms`, judged per profile in bench/relevance/terms.json): after
  onboarding, the subscriber keeps as keywords the terms of the page they judged worth
  keeping, among the reading of their description and the terms their "yes" papers share
  (digest.ranking.reading); then the next digest, as after onboarding;
- followed topics (with `followed_topics`, judged in bench/relevance/topics.json): the
  subscriber follows the topics the reading offers for their description
  (digest.ranking.glossary.topics_for) that they judged worth following, which adds their
  words to the keywords: day 1 so, and after onboarding with the kept terms too.

P@10 is reported as a fraction of what the remaining pool allows: hits in the top 10
divided by min(10, relevant papers not yet shown).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import numpy as np

from digest.ranking import glossary
from digest.ranking.learner import (
    Background,
    LearnerConfig,
    learner_fit,
    learner_rows,
    word_features,
)
from digest.ranking.ranker import Ranker
from digest.ranking.reading import answer_terms, read_description
from digest.ranking.types import SUGGESTION_FLOOR, PaperDoc, Profile
from digest.ranking.words import tokens

K = 10


def allowed_precision(
    ranked: Sequence[int], relevant: set[int], shown: set[int] | frozenset[int]
) -> float:
    left = len(relevant - shown)
    if left == 0:
        return 1.0
    return sum(1 for p in ranked[:K] if p in relevant) / min(K, left)


def _spelling_free(term: str) -> str:
    return "".join(tokens(term))


def interest_text(profile: Profile) -> str:
    """The prior's text: the description, else the wanted keywords (as digest.learner uses)."""
    if profile.description.strip():
        return profile.description.strip()
    return ", ".join(k for k in profile.keywords if not k.startswith("-"))


@dataclass
class Simulation:
    ranker: Ranker
    docs: list[PaperDoc]
    judged: dict[int, set[int]]
    config: LearnerConfig
    # Per subscriber: the terms they would keep as keywords if shown (None: not simulated).
    kept_terms: dict[int, frozenset[str]] | None = None
    # Per subscriber: the topics they would follow if offered (None: not simulated).
    followed_topics: dict[int, frozenset[str]] | None = None

    def __post_init__(self) -> None:
        self.features = self.ranker.learner_features()
        self.column = {d.id: i for i, d in enumerate(self.docs)}
        self.kept_count: dict[int, int] = {}  # terms each subscriber kept, in the last run
        self.topic_keywords: dict[int, int] = {}  # keywords their followed topics added
        self.encoder = self.ranker.text.encoder()
        self.rows = None
        if self.features is not None:
            words = self.ranker.learner_words().T.tocsr()
            self.rows = learner_rows(words, self.features[:-1].T)
            # The background: the newest papers, as subscriptions.learners takes them.
            newest = sorted(
                range(len(self.docs)),
                key=lambda i: (self.docs[i].announced_on or date.min, self.docs[i].id),
                reverse=True,
            )
            self.background = Background.of(
                [self.docs[i].id for i in newest], self.rows[newest], self.config.background_papers
            )

    def with_answers(self, profile: Profile, yes: list[PaperDoc], no: list[PaperDoc]) -> Profile:
        answered = replace(profile, liked=tuple(yes), disliked=tuple(no))
        if self.rows is None or self.config.weight <= 0 or not (yes or no):
            return answered
        assert self.encoder is not None
        text = interest_text(profile)
        prior = learner_rows(word_features([text]), self.encoder.encode([text])) if text else None
        weights = learner_fit(
            self.rows[[self.column[d.id] for d in yes]],
            self.rows[[self.column[d.id] for d in no]],
            self.background,
            prior,
            self.config,
            frozenset(d.id for d in [*yes, *no]),
        )
        return replace(answered, learner=weights)

    def shown_terms(self, profile: Profile, yes: list[PaperDoc], no: list[PaperDoc]) -> list[str]:
        """The terms the page offers to keep: the reading, then what the answers share."""
        reading = read_description(self.ranker, profile.description).terms
        shown = [t.label for t in reading]
        extra = answer_terms(self.ranker, yes, no, shown=[*shown, *profile.keywords])
        return shown + [t.label for t in extra]

    def with_kept_terms(self, profile: Profile, shown: list[str]) -> Profile:
        assert self.kept_terms is not None
        # By the term's words: the judges saw "zero shot" or "zeroshot" where the page now
        # writes "zero-shot" (the ninth stop); a spelling is not a different term.
        keep = {_spelling_free(t) for t in self.kept_terms.get(profile.subscriber_id, ())}
        kept = [t for t in shown if _spelling_free(t) in keep and t not in profile.keywords]
        self.kept_count[profile.subscriber_id] = len(kept)
        return replace(profile, keywords=(*profile.keywords, *kept))

    def offered_topics(
        self, profile: Profile, yes: Sequence[PaperDoc] = (), no: Sequence[PaperDoc] = ()
    ) -> list[glossary.Topic]:
        """The topics the page offers: those the description sounds like, then (after
        answers) those the "yes" papers share."""
        if self.encoder is None:
            return []
        topics = []
        if profile.description:
            vector = self.encoder.encode([profile.description])[0]
            topics = list(glossary.topics_for(vector, self.encoder))
        shown = [t.name for t in topics]
        return topics + list(glossary.answer_topics(self.ranker.text, yes, no, shown=shown))

    def with_topics(
        self, profile: Profile, yes: Sequence[PaperDoc] = (), no: Sequence[PaperDoc] = ()
    ) -> Profile:
        """The profile after following the offered topics it judged worth following."""
        assert self.followed_topics is not None
        follow = self.followed_topics.get(profile.subscriber_id, frozenset())
        added = [
            k for t in self.offered_topics(profile, yes, no) if t.name in follow for k in t.keywords
        ]
        self.topic_keywords[profile.subscriber_id] = len(added)
        return replace(profile, keywords=(*profile.keywords, *dict.fromkeys(added)))

    def rank(self, profiles: list[Profile], floor: float | None = None) -> dict[int, list[int]]:
        ranked = self.ranker.rank(profiles, floor=floor)
        return {sid: [p.paper_id for p in picks] for sid, picks in ranked.items()}

    def trending_fill(self, profile: Profile, picks: list[int]) -> list[int]:
        """The first ten papers shown at onboarding: the picks (closest first, below the
        digest's floor too, as the papers step shows them), then trending ones."""
        order = sorted(
            self.docs, key=lambda p: (p.upvote_growth, p.upvotes, p.arxiv_id), reverse=True
        )
        shown = list(picks)
        for doc in order:
            if len(shown) >= K:
                break
            if doc.id not in shown:
                shown.append(doc.id)
        return shown

    def run(self, profiles: list[Profile]) -> dict[int, dict[str, float]]:
        by_id = {d.id: d for d in self.docs}
        day1 = self.rank(profiles)
        # What the papers step shows: closest first, down to SUGGESTION_FLOOR.
        step = self.rank(profiles, floor=SUGGESTION_FLOOR)
        onboarded, pasted, fed, twins, kept, topical, both = [], [], [], [], [], [], []
        self.kept_count = {}
        shown_at: dict[int, frozenset[int]] = {}
        known_at: dict[int, frozenset[int]] = {}
        for profile in profiles:
            sid, relevant = profile.subscriber_id, self.judged[profile.subscriber_id]
            order = self.trending_fill(profile, step[sid][:K])
            shown = frozenset(order)
            yes = [by_id[i] for i in order if i in relevant]
            no = [by_id[i] for i in order if i not in relevant]
            onboarded.append(replace(self.with_answers(profile, yes, no), already_sent=shown))
            if self.kept_terms is not None:
                terms = self.shown_terms(profile, yes, no)
                kept.append(self.with_kept_terms(onboarded[-1], terms))
            if self.followed_topics is not None:
                topical.append(self.with_topics(profile))
                if kept:
                    both.append(self.with_topics(kept[-1], yes, no))
            # All "no": the step asks for a paper they like, and they paste the best known
            # (most upvoted) relevant paper they were not shown.
            known = (
                frozenset()
                if yes
                else frozenset([max(relevant - shown, key=lambda i: (by_id[i].upvotes, i))])
            )
            yes += [by_id[i] for i in known]
            pasted.append(replace(self.with_answers(profile, yes, no), already_sent=shown | known))
            shown_at[sid], known_at[sid] = shown, shown | known
            sent = frozenset(day1[sid])
            yes = [by_id[i] for i in day1[sid] if i in relevant]
            no = [by_id[i] for i in day1[sid] if i not in relevant]
            fed.append(replace(self.with_answers(profile, yes, no), already_sent=sent))
            twins.append(replace(profile, already_sent=sent))
        after_onboarding, after_pasting = self.rank(onboarded), self.rank(pasted)
        day2, twin2 = self.rank(fed), self.rank(twins)
        after_keeping = self.rank(kept) if kept else {}
        day1_topics, after_both = self.rank(topical), self.rank(both)
        out = {}
        for profile in profiles:
            sid, relevant = profile.subscriber_id, self.judged[profile.subscriber_id]
            sent = frozenset(day1[sid])
            out[sid] = {
                "day1": allowed_precision(day1[sid], relevant, set()),
                "onboarding": allowed_precision(after_onboarding[sid], relevant, shown_at[sid]),
                "pasted": allowed_precision(after_pasting[sid], relevant, known_at[sid]),
                "feedback": allowed_precision(day2[sid], relevant, sent),
                "twin": allowed_precision(twin2[sid], relevant, sent),
                "kept": (
                    allowed_precision(after_keeping[sid], relevant, shown_at[sid])
                    if after_keeping
                    else float("nan")
                ),
                "kept_terms": self.kept_count.get(sid, 0),
                "day1_topics": (
                    allowed_precision(day1_topics[sid], relevant, set())
                    if day1_topics
                    else float("nan")
                ),
                "both": (
                    allowed_precision(after_both[sid], relevant, shown_at[sid])
                    if after_both
                    else float("nan")
                ),
                "topic_keywords": self.topic_keywords.get(sid, 0),
                "day1_yes": sum(1 for i in day1[sid] if i in relevant),
                "day1_sent": len(day1[sid]),
            }
        return out


def summarise(results: dict[int, dict[str, float]], kinds: dict[int, str], ids) -> dict:
    summary = {}
    for kind in ("keyword", "description", "mixed", "all"):
        rows = [results[i] for i in ids if kind == "all" or kinds[i] == kind]
        if rows:
            summary[kind] = {
                key: float(np.mean([r[key] for r in rows]))
                for key in (
                    "day1",
                    "onboarding",
                    "pasted",
                    "feedback",
                    "twin",
                    "kept",
                    "day1_topics",
                    "both",
                )
            }
            summary[kind]["worse_than_twin"] = sum(
                1 for r in rows if r["feedback"] < r["twin"] - 1e-9
            )
            summary[kind]["profiles"] = len(rows)
    return summary


def print_simulation(results, summary, names, kinds, ids, title: str) -> None:
    print(f"\n--- {title} ---")
    print(
        f"{'profile':34} {'kind':12} {'day1':>5} {'onbrd':>5} {'+pste':>5} {'fb d2':>5} "
        f"{'twin':>5} {'+kept':>5} {'d1+tp':>5} {'ob+tk':>5} yes/sent"
    )
    for i in ids:
        r = results[i]
        print(
            f"{names[i]:34} {kinds[i]:12} {r['day1']:5.2f} {r['onboarding']:5.2f} "
            f"{r['pasted']:5.2f} {r['feedback']:5.2f} {r['twin']:5.2f} {r['kept']:5.2f} "
            f"{r['day1_topics']:5.2f} {r['both']:5.2f} "
            f"{r['day1_yes']}/{r['day1_sent']}  kept {r['kept_terms']}, topics add "
            f"{r['topic_keywords']}"
        )
    for kind, s in summary.items():
        print(
            f"{'mean ' + kind:47} {s['day1']:5.2f} {s['onboarding']:5.2f} {s['pasted']:5.2f} "
            f"{s['feedback']:5.2f} {s['twin']:5.2f} {s['kept']:5.2f} "
            f"{s['day1_topics']:5.2f} {s['both']:5.2f}  "
            f"({s['worse_than_twin']} of {s['profiles']} worse than the twin)"
        )
