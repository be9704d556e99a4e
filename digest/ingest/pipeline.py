"""Ingestion: the one caller of the sources. fetch -> parse -> upsert, one FetchRun per pull.

Papers merge into ONE row per bare arXiv id, whichever source saw it first; every
field keeps the best value any source gave (see `digest.sources.records`). Writes are
bulk, per batch of ids, never per paper; all writes of one pull share a transaction; a
bad record is skipped and noted, never half-written. Running the same pull twice
changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from digest.ingest.history import record_sightings, record_upvotes
from digest.ingest.retraction import papers_retract
from digest.lib import progress
from digest.lib.bulk import insert_many, update_many
from digest.models import FetchRun, Paper, Source, SourceKind
from digest.sources.arxiv_rss import REFRESH_ONLY
from digest.sources.base import IngestError, PaperRecord
from digest.sources.records import FIELDS, clean_record, merge_values, validate_url
from digest.sources.registry import get_adapter

logger = logging.getLogger(__name__)
# One line per fetch-run state change, with the run's id and counts (deploy/README.md).
run_log = logging.getLogger("digest.ingest")

BATCH_SIZE = 500
FETCH_RUN_URL_LENGTH = FetchRun._meta.get_field("url").max_length
SNAPSHOT_DIR = Path(__file__).resolve().parent.parent / "snapshot"
# (file, kind) of the bundled offline snapshot, in load order.
SNAPSHOT_FILES = [
    ("arxiv-rss-atom_cs.AI_2025-08-20.xml", SourceKind.ARXIV_RSS),
    ("arxiv-api-query_all-science_2019-08-10.xml", SourceKind.ARXIV_API),
    ("hf-daily-papers_2024-10-25.json", SourceKind.HF_DAILY),
]


@dataclass
class Outcome:
    """What one upsert did."""

    new: int = 0
    updated: int = 0
    skipped: int = 0
    problems: list[str] = field(default_factory=list)
    # Revisions (replace, replace-cross) of papers we never held: skipped, not news.
    unheld_revisions: int = 0
    # Withdrawn papers: those not held are skipped; those held leave future digests.
    unheld_withdrawals: list[str] = field(default_factory=list)
    retracted: list[str] = field(default_factory=list)


# --- Public services ----------------------------------------------------------------


def ingest_source(source: Source) -> FetchRun:
    """Pull one configured source now (the admin's "run now", the per-source task)."""
    return _pull(source.kind, source.url, source=source)


def ingest_url(url: str, kind: str) -> FetchRun:
    """One ad-hoc pull of `url` as `kind` (no Source row). Bad input raises IngestError."""
    if kind not in SourceKind.values:
        raise IngestError(
            f"unknown kind {kind!r} (expected one of: {', '.join(SourceKind.values)})"
        )
    try:
        validate_url(url)
    except ValidationError:
        raise IngestError(f"not an http(s) URL: {url!r}") from None
    return _pull(kind, url, source=None)


def load_snapshot() -> dict[str, int]:
    """Load the bundled offline snapshot as today's listing, through the real parsers.

    Its papers get `announced_on = today`, so a first digest has real papers in its
    window. Idempotent: a second load on the same day changes nothing.
    """
    today = timezone.localdate()
    totals = {"files": 0, "records": 0, "new": 0, "updated": 0, "skipped": 0}
    watch = progress.current()
    watch.set_total(len(SNAPSHOT_FILES))
    for name, kind in SNAPSHOT_FILES:
        adapter = get_adapter(kind)
        records = adapter.parse((SNAPSHOT_DIR / name).read_bytes())
        outcome = upsert(records, kind=kind, replay_on=today)
        totals["files"] += 1
        totals["records"] += len(records)
        totals["new"] += outcome.new
        totals["updated"] += outcome.updated
        totals["skipped"] += outcome.skipped
        watch.advance(failed=outcome.skipped)
    totals["papers"] = Paper.objects.filter(announced_on=today).count()
    return totals


# --- One pull -------------------------------------------------------------------------


def _pull(kind: str, url: str, *, source: Source | None) -> FetchRun:
    # A long backfill query is noted cut to the column's size, not refused.
    run = FetchRun.objects.create(source=source, kind=kind, url=url[:FETCH_RUN_URL_LENGTH])
    _log_run(run, "started")
    try:
        adapter = get_adapter(kind)
        fetched = adapter.fetch(
            url,
            etag=source.etag if source else "",
            last_modified=source.last_modified if source else "",
        )
        run.http_status = fetched.http_status
        damage: list[str] = list(fetched.problems)
        if fetched.not_modified:
            run.status = FetchRun.Status.NOT_MODIFIED
        else:
            records: list[PaperRecord] = []
            for body in fetched.bodies:
                listing = adapter.parse(body)
                records.extend(listing)
                damage.extend(listing.problems)
            outcome = upsert(records, kind=kind, source=source)
            run.new_count, run.updated_count = outcome.new, outcome.updated
            run.skipped_count = outcome.skipped
            run.error = _summarise(damage + outcome.problems)
            run.status = FetchRun.Status.OK
        # Stored only after a successful write of a whole listing, so a failed or damaged
        # pull is fetched in full again (the server's ETag names the whole feed).
        if (
            source
            and not damage
            and (fetched.etag, fetched.last_modified) != (source.etag, source.last_modified)
        ):
            source.etag, source.last_modified = fetched.etag[:255], fetched.last_modified[:64]
            Source.objects.filter(pk=source.pk).update(
                etag=source.etag, last_modified=source.last_modified
            )
    except IngestError as error:
        run.status = FetchRun.Status.FAILED
        run.error = f"{'permanent' if error.permanent else 'temporary'}: {error}"
        run.http_status = error.http_status or run.http_status
    except SoftTimeLimitExceeded:
        # The task's time is up: the pass stops here, not seconds before the hard kill.
        run.status = FetchRun.Status.FAILED
        run.error = (
            "temporary: stopped at its task's time limit; the next pass pulls it and the "
            "sources after it"
        )
        _close(run)
        raise
    except Exception as error:  # One broken source must not stop the others.
        logger.exception("ingesting %s %s failed", kind, url)
        run.status = FetchRun.Status.FAILED
        run.error = f"unexpected: {type(error).__name__}: {error}"
    _close(run)
    return run


def _close(run: FetchRun) -> None:
    run.finished_at = timezone.now()
    run.save()
    _log_run(run, run.status)


def _log_run(run: FetchRun, state: str) -> None:
    run_log.info(
        "fetch run %s",
        state,
        extra={
            "fetch_run_id": run.pk,
            "kind": run.kind,
            "url": run.url,
            "status": run.status,
            "http_status": run.http_status,
            "new_count": run.new_count,
            "updated_count": run.updated_count,
        },
    )


def _summarise(problems: list[str], limit: int = 20) -> str:
    shown = problems[:limit]
    if len(problems) > limit:
        shown.append(f"... and {len(problems) - limit} more")
    return "\n".join(shown)


# --- Upsert ---------------------------------------------------------------------------


def upsert(
    records: Iterable[PaperRecord],
    *,
    kind: str,
    source: Source | None = None,
    replay_on: date | None = None,
) -> Outcome:
    """Validate, merge and write `records` in one transaction, a batch of ids at a time.

    `replay_on` (the offline snapshot) makes these papers announced on that day and
    records upvote history only for papers it creates, so reloading stays a no-op.
    """
    outcome = Outcome()
    incoming: dict[str, dict[str, Any]] = {}
    for record in records:
        try:
            values = clean_record(record, replay_on)
        except IngestError as error:
            outcome.skipped += 1
            outcome.problems.append(f"skipped: {error}")
            continue
        known = incoming.get(values["arxiv_id"])
        incoming[values["arxiv_id"]] = merge_values(known, values) if known else values
    with transaction.atomic():
        for batch in _batches(list(incoming.values()), BATCH_SIZE):
            _write_batch(batch, kind=kind, source=source, replay_on=replay_on, outcome=outcome)
    if outcome.unheld_revisions:
        outcome.problems.append(
            f"skipped {outcome.unheld_revisions} revision(s) (replace, replace-cross) of "
            "papers not held: a revision is not new"
        )
    if outcome.unheld_withdrawals:
        outcome.problems.append(
            f"skipped {len(outcome.unheld_withdrawals)} withdrawn paper(s) not held: "
            + _listed(outcome.unheld_withdrawals)
        )
    if outcome.retracted:
        outcome.problems.append(
            f"retracted {len(outcome.retracted)} withdrawn paper(s) from future digests: "
            + _listed(outcome.retracted)
        )
    return outcome


def _listed(arxiv_ids: list[str], limit: int = 10) -> str:
    more = f" and {len(arxiv_ids) - limit} more" if len(arxiv_ids) > limit else ""
    return ", ".join(arxiv_ids[:limit]) + more


def _write_batch(
    batch: list[dict[str, Any]],
    *,
    kind: str,
    source: Source | None,
    replay_on: date | None,
    outcome: Outcome,
) -> None:
    # Plain rows, not model instances: a batch is compared field by field, not saved.
    existing = {
        row["arxiv_id"]: row
        for row in Paper.objects.filter(
            arxiv_id__in=[values["arxiv_id"] for values in batch]
        ).values("id", "arxiv_id", *FIELDS)
    }
    created, changed, seen = _sort_batch(batch, existing, replay_on=replay_on, outcome=outcome)
    ids = {arxiv_id: row["id"] for arxiv_id, row in existing.items()}
    inserted, theirs, raced = _insert(created)
    ids.update(inserted)
    changed += raced
    _update(changed)
    outcome.new += len(created) - theirs
    outcome.updated += len(changed)
    withdrawn = [ids[v["arxiv_id"]] for v in seen if v["withdrawn"] and v["arxiv_id"] in ids]
    outcome.retracted += _retract(withdrawn)
    held = {row["id"] for row in existing.values()}
    record_sightings([ids[v["arxiv_id"]] for v in seen], kind=kind, source=source, held=held)
    fresh = {values["arxiv_id"] for values in created}
    record_upvotes(
        [
            (ids[values["arxiv_id"]], values["upvotes"])
            for values in seen
            if values["has_upvotes"] and (replay_on is None or values["arxiv_id"] in fresh)
        ],
        held=held,
    )


def _sort_batch(
    batch: list[dict[str, Any]],
    existing: dict[str, dict[str, Any]],
    *,
    replay_on: date | None,
    outcome: Outcome,
) -> tuple[list[dict[str, Any]], list[tuple[int, dict[str, Any]]], list[dict[str, Any]]]:
    """(papers to create, (id, merged values) to update, every paper seen and kept)."""
    created: list[dict[str, Any]] = []
    changed: list[tuple[int, dict[str, Any]]] = []
    seen: list[dict[str, Any]] = []
    for values in batch:
        current = existing.get(values["arxiv_id"])
        if current is None:
            if values["withdrawn"] and replay_on is None:
                outcome.skipped += 1  # Withdrawn before we held it: never offered.
                outcome.unheld_withdrawals.append(values["arxiv_id"])
                continue
            if values["announce_type"] in REFRESH_ONLY and replay_on is None:
                outcome.skipped += 1  # A revision of a paper we never held: not news.
                outcome.unheld_revisions += 1
                continue
            created.append(values)
        else:
            merged = merge_values(current, values)
            if replay_on is not None:
                merged["announced_on"] = replay_on
            if any(merged[name] != current[name] for name in FIELDS):
                changed.append((current["id"], merged))
        seen.append(values)
    return created, changed, seen


def _insert(
    created: list[dict[str, Any]],
) -> tuple[dict[str, int], int, list[tuple[int, dict[str, Any]]]]:
    """Inserts in one statement: (the ids of `created` by arXiv id, how many rows another
    pull inserted meanwhile, the (id, merged values) of those this pull changes).

    Two workers can both read a paper as not held (PostgreSQL runs their transactions
    side by side); the second insert then does nothing, and this pull's view of the
    paper is merged into the first's row here instead of being dropped.
    """
    if not created:
        return {}, 0, []
    now = timezone.now()
    insert_many(
        Paper,
        ["arxiv_id", *FIELDS, "first_seen_at", "last_seen_at"],
        [[values["arxiv_id"], *(values[n] for n in FIELDS), now, now] for values in created],
        conflict=["arxiv_id"],
    )
    ours = {values["arxiv_id"]: values for values in created}
    rows = Paper.objects.select_for_update().filter(arxiv_id__in=list(ours))
    ids: dict[str, int] = {}
    raced: list[tuple[int, dict[str, Any]]] = []
    theirs = 0
    for row in rows.values("id", "arxiv_id", *FIELDS):
        ids[row["arxiv_id"]] = row["id"]
        values = ours[row["arxiv_id"]]
        if any(row[name] != values[name] for name in FIELDS):  # Not the row we inserted.
            theirs += 1
            merged = merge_values(row, values)
            if any(merged[name] != row[name] for name in FIELDS):
                raced.append((row["id"], merged))
    return ids, theirs, raced


def _update(changed: list[tuple[int, dict[str, Any]]]) -> None:
    """Updates in one statement."""
    if changed:
        now = timezone.now()
        update_many(
            Paper,
            [*FIELDS, "last_seen_at"],
            [[*(merged[n] for n in FIELDS), now, pk] for pk, merged in changed],
        )


def _retract(paper_ids: list[int]) -> list[str]:
    """Takes withdrawn papers out of future digests (as staff's "retract" does); the arXiv
    ids of those not retracted before."""
    if not paper_ids:
        return []
    fresh = Paper.objects.filter(pk__in=paper_ids, retracted_at__isnull=True)
    arxiv_ids = sorted(fresh.values_list("arxiv_id", flat=True))
    papers_retract(paper_ids)
    return arxiv_ids


def _batches(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
