"""What each pull adds to a paper's history: where it was seen (`PaperSighting`, one per
source kind) and its Daily Papers upvote counts over time (`UpvoteSnapshot`), from
which the ranking reads growth. Called by digest.ingest.pipeline inside a pull's
transaction."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from digest.lib.bulk import insert_many
from digest.models import PaperSighting, Source, UpvoteSnapshot

# An unchanged upvote count is recorded again only after this long (see record_upvotes):
# well under the shortest useful schedule (Daily Papers is pulled hourly, less 5 minutes'
# slack), so every scheduled pull still samples, and only a re-run adds nothing.
UPVOTE_RESAMPLE = timedelta(minutes=10)


def record_upvotes(counts: list[tuple[int, int]], *, held: set[int]) -> None:
    """One history row per (paper, count), unless the same count was recorded just now.

    The schedule pulls each source at its `fetch_every`, and each pull samples every
    listed paper's count, so the ranking can read growth over any window. A count equal
    to one recorded less than UPVOTE_RESAMPLE ago is not repeated: re-running a pull (a
    retried task, "run now" twice) adds nothing.
    """
    if not counts:
        return
    now = timezone.now()
    latest: dict[int, int] = {}
    known = [pk for pk, _ in counts if pk in held]
    if known:
        recent = (
            UpvoteSnapshot.objects.filter(paper_id__in=known, taken_at__gte=now - UPVOTE_RESAMPLE)
            .order_by("taken_at", "pk")
            .values_list("paper_id", "upvotes")
        )
        latest.update(recent)  # Later rows overwrite earlier ones: the newest count wins.
    insert_many(
        UpvoteSnapshot,
        ["paper_id", "upvotes", "taken_at"],
        [[pk, upvotes, now] for pk, upvotes in counts if latest.get(pk) != upvotes],
    )


def record_sightings(
    paper_ids: list[int], *, kind: str, source: Source | None, held: set[int]
) -> None:
    """One sighting per (paper, kind); only papers `held` before this batch are looked up.

    A paper this batch created has none yet (the insert skips any a concurrent pull added).
    """
    if not paper_ids:
        return
    known: set[int] = set()
    if looked_up := [pk for pk in paper_ids if pk in held]:
        known.update(
            PaperSighting.objects.filter(kind=kind, paper_id__in=looked_up).values_list(
                "paper_id", flat=True
            )
        )
    now = timezone.now()
    insert_many(
        PaperSighting,
        ["paper_id", "kind", "source_id", "first_seen_at"],
        [[pk, kind, source.pk if source else None, now] for pk in paper_ids if pk not in known],
        conflict=["paper_id", "kind"],
    )
