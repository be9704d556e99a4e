"""Why each pick: "matches 'distillation' · by Jane Doe · cs.CL · 48 upvotes", built for a
subscriber's few picks from the parts of the score that chose them."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from scipy import sparse

from .words import category_keys

if TYPE_CHECKING:
    from .profiles import CompiledProfiles
    from .ranker import Ranker

# A component is named in the reason once it is worth this much relevance.
_MENTION = 0.2


class PaperFacts:
    """What the reasons say of each of the day's papers: built once a day, not once per
    ranking call (a send worker ranks the day in many chunks of a few hundred)."""

    def __init__(self, ranker: Ranker) -> None:
        self.authors = _row_sets(ranker.author_matrix)
        vocab = ranker.category_vocab
        self.categories = [
            [(c, {vocab.get(k) for k in category_keys(c)}) for c in p.categories]
            for p in ranker.papers
        ]
        self.upvotes = [
            " · " + f"{p.upvotes} upvote" + ("" if p.upvotes == 1 else "s") if p.upvotes else ""
            for p in ranker.papers
        ]
        self.categories_shown: dict[frozenset[int], list[str | None]] = {}

    def shown(self, wanted: frozenset[int]) -> list[str | None]:
        """Each paper's first category among `wanted` (None: none), once per distinct set:
        subscribers choose among few categories."""
        shown = self.categories_shown.get(wanted)
        if shown is None:
            shown = self.categories_shown[wanted] = [
                next((cat for cat, keys in categories if not keys.isdisjoint(wanted)), None)
                for categories in self.categories
            ]
        return shown


class Explainer:
    """Builds "matches 'distillation' · cs.CL · 48 upvotes" for one subscriber's picks."""

    def __init__(self, ranker: Ranker, cp: CompiledProfiles, facts: PaperFacts) -> None:
        self.cp = cp
        self.ranker = ranker
        self.paper_terms = _row_sets(cp.term_weights)
        self.paper_authors = facts.authors
        self.upvotes = facts.upvotes
        self._shown = facts.shown
        self.quoted = [f"'{label}'" for label in cp.term_labels]
        self.include = (cp.include.indptr.tolist(), cp.include.indices.tolist())
        self.categories = (cp.categories.indptr.tolist(), cp.categories.indices.tolist())
        self.keyword_reasons: dict[tuple[int, ...], dict[int, str]] = {}
        self.category_reasons: dict[tuple[tuple[int, ...], frozenset[int]], dict[int, str]] = {}
        # Per subscriber of the chunk who liked several papers: their titles, and which
        # one is nearest each of their top papers (`prepare`).
        self.liked: dict[int, list[str]] = {}
        self.nearest: dict[int, list[int]] = {}

    def __call__(
        self,
        s: int,
        cols: list[int],
        d_row: list[float] | None,
        l_row: list[float] | None,
        m_row: list[float] | None = None,
    ) -> list[str]:
        cp, upvotes, paper_terms, quoted = self.cp, self.upvotes, self.paper_terms, self.quoted
        indptr, indices = self.include
        terms = indices[indptr[s] : indptr[s + 1]]
        names = cp.author_names[s]
        indptr, indices = self.categories
        a, b = indptr[s], indptr[s + 1]
        wanted = frozenset(indices[a:b]) if b > a else None
        if not (names or d_row or l_row or m_row):
            if wanted is None:
                return self._keywords_only(terms, cols)
            return self._keywords_and_categories(terms, wanted, cols)
        shown = self._shown(wanted) if wanted else None
        reasons = []
        examples: list[str] | None = None
        for j, c in enumerate(cols):
            parts = []
            if terms:
                present = paper_terms[c]
                matched = [quoted[t] for t in terms if t in present]
                if matched:
                    parts.append("matches " + ", ".join(matched[:3]))
            if names:
                on_paper = self.paper_authors[c]
                by = [name for name, keys in names if not keys.isdisjoint(on_paper)]
                if by:
                    parts.append("by " + ", ".join(by[:2]))
            d = d_row[j] if d_row else 0.0
            lk = l_row[j] if l_row else 0.0
            if d >= _MENTION or (not parts and d > 0 and d >= lk):
                parts.append("similar to your description")
            learned = m_row[j] if m_row else 0.0
            # Papers brought by answers name the liked paper they resemble most.
            if learned >= _MENTION or lk >= _MENTION or (not parts and (lk > 0 or learned > 0)):
                examples = examples or self.examples(s, cols)
                parts.append(examples[j])
            if shown is not None and (category := shown[c]) is not None:
                parts.append(category)
            reasons.append(" · ".join(parts) + upvotes[c] if parts else upvotes[c][3:])
        return reasons

    def prepare(self, a: int, top: list[list[int]]) -> None:
        """Finds, for the chunk's subscribers from `a` on who liked several papers, the one
        nearest each of their top papers: one gather for the chunk, not one per subscriber.
        Only the newest liked papers count: those of the Rocchio terms, whose cosines to
        today's papers the ranking computed already."""
        where, newest = self.cp.feedback_columns, self.ranker.weights.feedback_papers
        self.liked, self.nearest = {}, {}
        rows = []
        for r in range(len(top)):
            liked = self.cp.profiles[a + r].liked[:newest]
            if len(liked) > 1 and (found := [p for p in liked if p.id in where]):
                self.liked[a + r] = [p.title for p in found]
                rows.append((r, [where[p.id] for p in found]))
        if not rows:
            return
        columns = np.zeros((len(rows), max(len(c) for _, c in rows)), dtype=np.int64)
        unused = np.ones(columns.shape, dtype=bool)
        for i, (_, found_columns) in enumerate(rows):
            columns[i, : len(found_columns)] = found_columns
            unused[i, : len(found_columns)] = False
        papers = np.array([top[r] for r, _ in rows], dtype=np.int64)
        sims = self.cp.feedback_similarity[columns[:, :, None], papers[:, None, :]]
        sims[unused] = -np.inf
        for (r, _), nearest in zip(rows, sims.argmax(axis=1).tolist(), strict=True):
            self.nearest[a + r] = nearest

    def examples(self, s: int, cols: list[int]) -> list[str]:
        """ "like 'Born Again Neural Networks', which you liked" for each pick: the liked
        paper closest to it in words (see `prepare`)."""
        liked = self.cp.profiles[s].liked[: self.ranker.weights.feedback_papers]
        if len(liked) == 1:
            return [f"like '{liked[0].title}', which you liked"] * len(cols)
        titles = self.liked.get(s)
        if not titles:
            return ["more like papers you liked"] * len(cols)
        phrases = [f"like '{title}', which you liked" for title in titles]
        return [phrases[i] for i in self.nearest[s][: len(cols)]]

    def _keywords_and_categories(
        self, terms: list[int], wanted: frozenset[int], cols: list[int]
    ) -> list[str]:
        """Keywords and categories only (no authors, description or answers): as in
        `__call__`, shared by the subscribers who chose the same ones."""
        known = self.category_reasons.setdefault((tuple(terms), wanted), {})
        shown = self._shown(wanted)
        reasons = []
        for c in cols:
            reason = known.get(c)
            if reason is None:
                parts = []
                if terms:
                    present = self.paper_terms[c]
                    matched = [self.quoted[t] for t in terms if t in present]
                    if matched:
                        parts.append("matches " + ", ".join(matched[:3]))
                if (category := shown[c]) is not None:
                    parts.append(category)
                upvotes = self.upvotes[c]
                reason = known[c] = " · ".join(parts) + upvotes if parts else upvotes[3:]
            reasons.append(reason)
        return reasons

    def _keywords_only(self, terms: list[int], cols: list[int]) -> list[str]:
        """Keywords only, the common case: the matched terms and the upvotes. Subscribers
        who follow the same keywords share the reason for the same paper."""
        known = self.keyword_reasons.setdefault(tuple(terms), {})
        reasons = []
        for c in cols:
            reason = known.get(c)
            if reason is None:
                present = self.paper_terms[c]
                matched = [self.quoted[t] for t in terms if t in present]
                reason = known[c] = "matches " + ", ".join(matched[:3]) + self.upvotes[c]
            reasons.append(reason)
        return reasons


def _row_sets(matrix: sparse.csr_matrix) -> list[frozenset[int]]:
    indptr, indices = matrix.indptr, matrix.indices.tolist()
    return [frozenset(indices[indptr[i] : indptr[i + 1]]) for i in range(matrix.shape[0])]
