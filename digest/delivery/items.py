"""What each digest holds: the papers ranked for each delivery, stored as its items."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import replace
from datetime import UTC, date
from typing import NamedTuple

from django.conf import settings
from django.utils import timezone

from digest import selectors
from digest.lib.bulk import insert_rows_once
from digest.models import Delivery, DeliveryItem
from digest.ranking.picking import pick
from digest.ranking.types import PaperDoc, Pick


class Chosen(NamedTuple):
    """One paper in one delivery: a DeliveryItem's fields without a model instance (a
    chunk holds thousands; building models for them cost more than rendering)."""

    delivery_id: int
    paper_id: int
    rank: int
    score: float
    reason: str


def pick_papers(deliveries: list[Delivery], *, token: str = "") -> dict[int, list[Chosen]]:
    """The papers each delivery carries, ranked now or, for a re-claimed row, as stored.

    A row taken over from a dead worker keeps the papers it was given the first time, so
    a retried digest is the same digest. New picks are stored only for rows the claim
    `token` still owns and that have none yet; if another sender stored some first, those
    stand (and no UNIQUE error stops the chunk).
    """
    items: dict[int, list[Chosen]] = defaultdict(list)
    if not deliveries:
        return items
    _read_stored(items, [d.pk for d in deliveries])
    fresh = [d for d in deliveries if d.pk not in items]
    if fresh:
        new_items = _rank_deliveries(fresh)
        if insert_items(new_items, token=token) == len(new_items):
            for item in new_items:
                items[item.delivery_id].append(item)
        else:
            _read_stored(items, [d.pk for d in fresh])
    return items


def _read_stored(items: dict[int, list[Chosen]], delivery_ids: list[int]) -> None:
    """The stored picks of these rows, less papers staff retracted since they were stored
    (a resent or retried digest must not carry a paper taken out of every digest)."""
    stored = (
        DeliveryItem.objects.filter(delivery_id__in=delivery_ids, paper__retracted_at__isnull=True)
        .order_by("delivery_id", "rank")
        .values_list("delivery_id", "paper_id", "rank", "score", "reason")
    )
    for row in stored:
        items[row[0]].append(Chosen(*row))


def _rank_deliveries(deliveries: list[Delivery]) -> list[Chosen]:
    """Ranks a chunk: one paper pool per first announcement day, one profile query set.

    Which papers a digest draws from depends on the reader's previous digest, never on
    their time zone or digest date (`selectors.digest_since`). A reader with two digests
    in the chunk (a resent day beside today's) has them ranked one after the other, the
    older first, and the second leaves out what the first carries."""
    subscribers = [d.subscriber for d in deliveries]
    today = timezone.now().astimezone(UTC).date()
    since = selectors.digest_since(subscribers, today, settings.DIGEST_WINDOW_DAYS)
    ranked = selectors.profiles_for(subscribers, exclude_delivery_ids=[d.pk for d in deliveries])
    profiles = {p.subscriber_id: p for p in ranked}
    pools: dict[date, list[PaperDoc]] = {}
    items = []
    for batch in _one_per_reader(deliveries):
        groups: dict[date, list[Delivery]] = defaultdict(list)
        for d in batch:
            groups[since[d.subscriber_id]].append(d)
        for first_day, group in groups.items():
            if first_day not in pools:
                pools[first_day] = selectors.paper_pool(first_day)
            picks = pick(pools[first_day], [profiles[d.subscriber_id] for d in group])
            for d in group:
                chosen = picks.get(d.subscriber_id, [])
                items.extend(_items_for(d, chosen))
                profile = profiles[d.subscriber_id]
                carried = profile.already_sent | {p.paper_id for p in chosen}
                profiles[d.subscriber_id] = replace(profile, already_sent=carried)
    return items


def _one_per_reader(deliveries: list[Delivery]) -> list[list[Delivery]]:
    """The deliveries in rounds with at most one per reader, older digests in earlier
    rounds; nearly always a single round."""
    rounds: list[list[Delivery]] = []
    seen: Counter[int] = Counter()
    for d in sorted(deliveries, key=lambda d: d.digest_date):
        turn = seen[d.subscriber_id]
        seen[d.subscriber_id] += 1
        if turn == len(rounds):
            rounds.append([])
        rounds[turn].append(d)
    return rounds


def _items_for(delivery: Delivery, picks: list[Pick]) -> list[Chosen]:
    return [
        Chosen(delivery.pk, p.paper_id, i, p.score, p.reason[:300])
        for i, p in enumerate(picks, start=1)
    ]


def insert_items(items: list[Chosen], *, token: str = "") -> int:
    """Stores a chunk's items in one INSERT, however many; returns how many went in.

    Only for deliveries without items yet and, given a claim `token`, still owned by it.
    """
    columns = [
        ("delivery_id", "bigint"),
        ("paper_id", "bigint"),
        ("rank", "smallint"),
        ("score", "double precision"),
        ("reason", "text"),
    ]
    owners = Delivery.objects.filter(pk__in={item.delivery_id for item in items})
    if token:
        owners = owners.filter(claim_token=token, status=Delivery.Status.SENDING)
    rows = [list(item) for item in items]
    return insert_rows_once(DeliveryItem, columns, rows, parent="delivery_id", parents=owners)
