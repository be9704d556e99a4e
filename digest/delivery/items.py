"""What each digest holds: the papers ranked for each delivery, stored as its items."""

from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import NamedTuple

from django.conf import settings

from digest import selectors
from digest.lib.bulk import insert_rows_once
from digest.models import Delivery, DeliveryItem
from digest.ranking.picking import pick
from digest.ranking.types import Pick


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
    stored = (
        DeliveryItem.objects.filter(delivery_id__in=delivery_ids)
        .order_by("delivery_id", "rank")
        .values_list("delivery_id", "paper_id", "rank", "score", "reason")
    )
    for row in stored:
        items[row[0]].append(Chosen(*row))


def _rank_deliveries(deliveries: list[Delivery]) -> list[Chosen]:
    """Ranks a chunk: one paper pool per (date, window) and one profile query set."""
    groups: dict[tuple[date, int], list[Delivery]] = defaultdict(list)
    for d in deliveries:
        days = selectors.window_days(d.subscriber, settings.DIGEST_WINDOW_DAYS)
        groups[(d.digest_date, days)].append(d)
    profiles = {
        p.subscriber_id: p
        for p in selectors.profiles_for(
            [d.subscriber for d in deliveries], exclude_delivery_ids=[d.pk for d in deliveries]
        )
    }
    items = []
    for (digest_date, days), group in groups.items():
        pool = selectors.paper_pool(digest_date, days)
        picks = pick(pool, [profiles[d.subscriber_id] for d in group])
        for d in group:
            items.extend(_items_for(d, picks.get(d.subscriber_id, [])))
    return items


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
